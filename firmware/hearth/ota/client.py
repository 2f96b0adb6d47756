"""The OTA client: python-tuf's ngclient for trust, the launcher for installing.

    Client(storage_dir).init(root_bytes, device_id, ring, url)   provision (once)
    .refresh()     root -> timestamp -> snapshot -> targets, all verified
    .check()       refresh, then the target this device takes (select.choose)
    .download(p)   fetch a target into ota/download (resumable: fetcher.ResumableDownload,
                   kept across reboots and power cuts; length and hashes checked)
    .install()     stream the downloaded target into the inactive slot, decompressing
                   as it streams (fetcher.DecompressingReader)
    .update()      check + download + install; every outcome recorded, never raised

Nothing here trusts the server: ngclient refuses rolled-back, expired,
mixed, oversized or badly signed metadata and targets; select refuses other
boards, older releases and halted rollouts; the launcher refuses any image
its own keys and checks do not accept. A refusal leaves the running image
alone, is logged and recorded (record.py) with the reason.
"""
import hashlib
import logging
import os
import threading
import uuid

from tuf.api import exceptions as exc

from ..boot import state as S
from ..boot.launcher import Launcher
from ..boot.storage import DirStorage
from . import record as R
from .fetcher import (CHUNK, DecompressError, DecompressingReader, HearthFetcher,
                      ResumableDownload)
from .select import EVERYONE, choose

log = logging.getLogger("hearth.ota")

# ngclient's exception -> the reason code the record and telemetry carry
_REASONS = (
    ("EqualVersionNumberError", "bad-version"),
    ("BadVersionNumberError", "bad-version"),     # rollback, mix-and-match of versions
    ("UnsignedMetadataError", "unsigned"),        # wrong key, too few signatures, no signature
    ("ExpiredMetadataError", "expired"),          # freeze
    ("LengthOrHashMismatchError", "length-or-hash"),
    ("DownloadLengthMismatchError", "too-long"),  # endless data
    ("SlowRetrievalError", "slow-retrieval"),
    ("DownloadHTTPError", "http"),
    ("DownloadError", "download"),
    ("RepositoryError", "repository"),
)


# refusals of a target that verified against the metadata but that this
# device will never accept: fetching it again would only waste the link
_BLOCKING = ("launcher:", "image-mismatch", "bad-compression", "wrong-base", "wrong-hardware",
             "image-too-long")


class OtaError(Exception):
    """An expected refusal or failure: code (stable, for telemetry) and a one-line message."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


def reason_of(e):
    """(code, message) of any exception an update can meet."""
    if isinstance(e, OtaError):
        return e.code, e.message
    names = [c.__name__ for c in type(e).__mro__]
    for name, code in _REASONS:
        if name in names:
            return code, "%s: %s" % (type(e).__name__, e)
    code = getattr(e, "code", None)
    if isinstance(code, str):                   # ImageError / StateError of the launcher
        return "launcher:" + code, str(e)
    if isinstance(e, OSError):
        return "io", str(e)
    return "error", "%s: %s" % (type(e).__name__, e)


def _delta_apply():
    try:
        from ..delta import apply_file
    except ImportError:
        return None
    return apply_file


def _image_of(custom):
    h = custom.get("hearth") if isinstance(custom, dict) else None
    return h.get("image_sha256") if isinstance(h, dict) else None


def _default_fetcher():
    """The bounded fetcher for metadata (hearth.ota.fetcher.HearthFetcher)."""
    return HearthFetcher()


def target_url(targets_url, info, consistent):
    """Where a target is served: SHA256.NAME under its directory when the
    root says consistent_snapshot (what `hearth repo` writes), as ngclient does."""
    path = info.path
    if consistent:
        d, sep, name = path.rpartition("/")
        path = "%s%s%s.%s" % (d, sep, list(info.hashes.values())[0], name)
    return targets_url + path


class _Checked:
    """A read(n) source that counts and hashes what passes and, at the end,
    refuses (raises) unless it is exactly the image the metadata named: the
    launcher commits nothing before its source is exhausted."""

    def __init__(self, raw, length, sha256):
        self.raw, self.length, self.sha256 = raw, length, sha256
        self.h = hashlib.sha256()
        self.n = 0

    def read(self, n):
        b = self.raw.read(min(n, self.length + 1 - self.n))
        self.n += len(b)
        if self.n > self.length:
            raise OtaError("image-too-long", "the image is longer than the %d bytes its metadata says" % self.length)
        if b:
            self.h.update(b)
            return b
        if self.n != self.length or self.h.hexdigest() != self.sha256:
            raise OtaError("image-mismatch", "the image built from the target is not the one its metadata "
                                             "names (%d bytes, sha256 %s...)" % (self.n, self.h.hexdigest()[:16]))
        return b""


class Client:
    """The OTA client over one device storage.

    `storage_dir` holds the launcher's slots, the OTA records and the
    resumable download; `meta_storage` (default: the same) the TUF metadata
    ngclient reads and writes as files (a DirStorage). `bounds` and `chunk`
    go to the downloads (fetcher.Bounds, fetcher.CHUNK).
    """

    def __init__(self, storage_dir, url=None, fetcher=None, launcher=None, meta_storage=None,
                 bounds=None, chunk=CHUNK, device_id=None, ring=None, install_chunk=1 << 16):
        self.st = DirStorage(storage_dir) if isinstance(storage_dir, str) else storage_dir
        self.meta = meta_storage if meta_storage is not None else self.st
        self.launcher = launcher or Launcher(self.st)
        self.fetcher = fetcher if fetcher is not None else _default_fetcher()
        self.bounds = bounds
        self.chunk = chunk
        self.install_chunk = install_chunk
        self._url = url
        self._overrides = {k: v for k, v in (("device_id", device_id), ("ring", ring)) if v}
        self.last_check_bytes = 0               # metadata bytes on the wire of the last refresh
        self.last_check_wire = (0, 0)           # the same, (received, sent)
        self.last_download = None               # the ResumableDownload of the last download (its stats)

    # -- provisioning ------------------------------------------------------------
    def init(self, root_bytes, device_id=None, ring=EVERYONE, url=None, force=False):
        """Trust this root.json from now on (only a chain of roots it signs can
        replace it); remember device id, ring and repository URL."""
        from tuf.api.metadata import Metadata, Root
        if R.load_config(self.st) is not None and not force:
            raise OtaError("initialized", "OTA is already initialized on this storage (use --force to replace it)")
        try:
            md = Metadata.from_bytes(root_bytes)
        except Exception as e:
            raise OtaError("bad-root", "the root metadata is not valid TUF root.json: %s" % e) from None
        if not isinstance(md.signed, Root):
            raise OtaError("bad-root", "the file is %s metadata, not root" % md.signed.type)
        md.verify_delegate(Root.type, md)        # self-signed to its own threshold
        self.launcher.device                      # the launcher must be provisioned first
        if force:
            self.meta.remove_tree(R.METADATA)
        self.meta.write_atomic(R.METADATA + "/root.json", bytes(root_bytes))
        cfg = {"format": 1, "device_id": device_id or uuid.uuid4().hex, "ring": ring or EVERYONE,
               "url": url or self._url}
        R.save_config(self.st, cfg)
        return dict(cfg, root_version=md.signed.version)

    @property
    def config(self):
        cfg = R.load_config(self.st)
        if cfg is None:
            raise OtaError("not-initialized", "OTA is not initialized: run `python -m hearth.ota init ROOT.json` "
                                              "(or set [ota] root in the board file)")
        return dict(cfg, **self._overrides)        # the board's device id and ring win

    @property
    def url(self):
        url = self._url or self.config.get("url")
        if not url:
            raise OtaError("no-url", "no repository URL: give --url http://HOST/ (the served public/ directory)")
        return url if url.endswith("/") else url + "/"

    # -- TUF -------------------------------------------------------------------
    def updater(self):
        from tuf.ngclient import Updater
        self.config                                  # refuse early on a storage without a root
        # bootstrap=None: the root we trust is the one on storage, as provisioned
        # and then advanced by verified rotations, never one shipped alongside.
        # Targets are not ngclient's to fetch (it keeps nothing partial): see download.
        return Updater(self.meta.local_path(R.METADATA), self.url + "metadata/", None, self.url + "targets/",
                       fetcher=self.fetcher, bootstrap=None)

    def _wire(self):
        st = getattr(self.fetcher, "stats", None) or {}
        return st.get("wire_in", 0), st.get("wire_out", 0)

    def refresh(self):
        u = self.updater()
        before = self._wire()
        try:
            u.refresh()
        finally:
            after = self._wire()
            self.last_check_wire = (after[0] - before[0], after[1] - before[1])     # (in, out)
            self.last_check_bytes = sum(self.last_check_wire)
        return u

    def _trusted(self, role):
        from tuf.api.metadata import Metadata
        return Metadata.from_bytes(self.meta.read(R.METADATA + "/%s.json" % role)).signed

    def _trusted_targets(self):
        """{path: custom} of the targets metadata ngclient verified and persisted."""
        return {p: tf.custom for p, tf in self._trusted("targets").targets.items()}

    def device(self):
        """What select.choose needs to know about this device, from the launcher."""
        s = self.launcher.status()
        slot = s["slot"]
        meta = s["slots"].get(slot) if slot else None
        kinds = {"full", "xz"} | ({"delta"} if _delta_apply() else set())
        cfg = self.config
        return {"board": s["board"], "arch": s["arch"], "device_id": cfg["device_id"], "ring": cfg["ring"],
                "version": s["version"], "digest": meta["digest"] if meta else None,
                "security_counter": s["security_counter"], "launcher_version": s["launcher_version"],
                "kinds": kinds, "trial": s["trial"] or s["pending"] is not None}

    def check(self, updater=None):
        """(path, meta, why): the target to take now, or (None, None, why)."""
        if updater is None:
            self.refresh()                           # verifies and persists the newest metadata
        dev = self.device()
        pend = self.pending_download()
        if pend is None:
            for name in self.st.list_files(R.DOWNLOAD):     # a cut while an installed download was removed
                self.st.remove(name)
        if dev["trial"]:
            if pend is not None:                  # installed; a cut came before the record was dropped
                self._forget_download(pend[2])
            return None, None, "a trial image is pending or running: confirm or revert it first"
        blocked = set(R.load_state(self.st).get("blocked") or ())
        targets = {p: c for p, c in self._trusted_targets().items()
                   if _image_of(c) not in blocked}
        return choose(targets, dev)

    # -- download ------------------------------------------------------------------
    def _hardware(self, path, h):
        dev = self.device()
        if not isinstance(h, dict) or (h.get("board"), h.get("arch")) != (dev["board"], dev["arch"]):
            raise OtaError("wrong-hardware", "target %r is for %s/%s, this device is %s/%s" % (
                path, (h or {}).get("board"), (h or {}).get("arch"), dev["board"], dev["arch"]))
        return dev

    def _resumable(self, url, info):
        kw = {"chunk": self.chunk}
        if self.bounds is not None:
            kw["bounds"] = self.bounds
        return ResumableDownload.for_target(self.st, R.DOWNLOAD, url, info, **kw)

    def start_download(self, path, updater):
        """(hearth meta, TargetFile, ResumableDownload) for target `path`,
        verified against the signed metadata; refuses one for other hardware.
        The choice is recorded first, so a reboot continues this download
        (pending_download) and keeps its partial."""
        info = updater.get_targetinfo(path)
        if info is None:
            raise OtaError("no-target", "the repository has no target %r" % path)
        h = (info.custom or {}).get("hearth") if isinstance(info.custom, dict) else None
        self._hardware(path, h)
        url = target_url(self.url + "targets/", info, self._trusted("root").consistent_snapshot)
        s = R.load_state(self.st)
        rec = {"target": path, "url": url, "info": info.to_dict()}
        if s.get("downloaded") != rec:
            s["downloaded"] = rec
            R.save_state(self.st, s)
        return h, info, self._resumable(url, info)

    def pending_download(self):
        """(path, TargetFile, ResumableDownload) of the recorded download
        (possibly partial, possibly from before a reboot), or None."""
        from tuf.api.metadata import TargetFile
        d = R.load_state(self.st).get("downloaded")
        if not isinstance(d, dict) or not isinstance(d.get("url"), str):
            return None
        try:
            info = TargetFile.from_dict(dict(d["info"]), d["target"])
        except (KeyError, TypeError, ValueError):
            return None                              # a record of another format: the next check starts over
        return d["target"], info, self._resumable(d["url"], info)

    def download(self, path, updater=None, retry=None, budget_bytes=4 * CHUNK, wait=0.5):
        """Fetch target `path` into ota/download, continuing any partial of it.
        On an error (the partial kept) retry(dl) decides: True goes on (it
        has waited for dl.retry_at), False or no retry raises the error. A
        server whose file keeps not matching drops the partial and raises.
        Returns (ResumableDownload, hearth meta, TargetFile)."""
        u = updater or self.refresh()
        h, info, dl = self.start_download(path, u)
        self.last_download = dl
        while True:
            failures = dl.hash_failures
            state = dl.step(budget_bytes, wait)
            if state == "done":
                return dl, h, info
            if state == "failed":
                dl.remove()
                raise exc.LengthOrHashMismatchError(dl.last_error)
            if state == "waiting" or dl.hash_failures != failures:
                if retry is None or not retry(dl):
                    raise dl.last_exc or exc.DownloadError(dl.last_error)

    # -- install ------------------------------------------------------------------
    def _downloaded(self):
        """(path, info, dl) of a complete download, its stored bytes re-hashed
        (storage may have changed since the download)."""
        pend = self.pending_download()
        if pend is None:
            raise OtaError("nothing-downloaded", "nothing is downloaded: run check and download first")
        path, info, dl = pend
        if dl.have < dl.length:
            raise OtaError("not-downloaded", "the download of %s is incomplete (%d of %d bytes): run download "
                                             "again to continue it" % (path, dl.have, dl.length))
        while dl.state == "fetching" and dl.have == dl.length:
            dl.step(1 << 20)                      # re-hash from storage; no network for a complete download
        if dl.state != "done":
            raise exc.LengthOrHashMismatchError("the stored download of %s no longer matches its target (%s): "
                                                "it is fetched again" % (path, dl.last_error))
        return path, info, dl

    def install(self):
        """Install the downloaded target: a trial image, booted next by the launcher."""
        path, info, dl = self._downloaded()
        h = info.custom["hearth"]
        dev = self._hardware(path, h)
        length, sha = h["image_length"], h["image_sha256"]
        tmp = None
        try:
            if h["kind"] == "delta":
                apply_file = _delta_apply()
                if apply_file is None:
                    raise OtaError("no-delta", "this firmware cannot apply deltas (hearth.delta is missing)")
                if h.get("base_digest") != dev["digest"]:
                    raise OtaError("wrong-base", "the delta is for base %s..., the running image is %s..."
                                   % (str(h.get("base_digest"))[:16], str(dev["digest"])[:16]))
                local = self.st.local_path(R.DOWNLOAD + ".delta")
                tmp = local + ".image"
                with open(local, "wb") as f:
                    for b in dl.chunks():
                        f.write(b)
                base = self.st.local_path(S.slot_file(self.launcher.status()["slot"]))
                try:
                    apply_file(base, local, tmp, max_result=length)
                finally:
                    os.remove(local)
                src = open(tmp, "rb")
            elif h.get("compression") in ("xz", "zstd"):
                src = DecompressingReader(dl.reader(), h["compression"], max_output=length)
            else:
                src = dl.reader()
            try:
                r = self.launcher.install(_Checked(src, length, sha), chunk=self.install_chunk)
            except DecompressError as e:
                raise OtaError("bad-compression", "the compressed image is damaged: %s" % e) from None
            finally:
                if hasattr(src, "close"):
                    src.close()
        finally:
            if tmp and os.path.exists(tmp):
                os.remove(tmp)
        if r["digest"] != h["image_digest"]:        # cannot happen if the sha256 matched; cheap to say
            self.launcher.revert()
            raise OtaError("image-mismatch", "installed digest %s is not the target's" % r["digest"][:16])
        self._forget_download(dl)
        return dict(r, target=path, kind=h["kind"], target_length=info.length)

    def _forget_download(self, dl):
        """The record first: a cut between leaves files the next download's tidy removes."""
        s = R.load_state(self.st)
        if s.pop("downloaded", None) is not None:
            R.save_state(self.st, s)
        dl.remove()

    # -- the whole cycle ----------------------------------------------------------
    def update(self, retry=None, progress=None):
        """One check-and-update cycle. Returns the recorded outcome; never raises
        for what a server or the network can do. retry: as for download.
        progress(stage) is told "checking", "downloading", "installing"."""
        path = h = None
        self.last_download = None
        tell = progress or (lambda stage: None)
        try:
            tell("checking")
            u = self.refresh()
            path, h, why = self.check(u)
            if path is None:
                return R.record(self.st, "nothing", why, **self._transfer())
            tell("downloading")
            self.download(path, u, retry=retry)
            tell("installing")
            r = self.install()
        except Exception as e:                      # everything the channel can cause ends here
            code, msg = reason_of(e)
            log.warning("update refused (%s): %s", code, msg)
            if path and code.startswith(_BLOCKING):
                self._block(h)
            return R.record(self.st, "refused", msg, code=code, target=path,
                            kind=(h or {}).get("kind"), version=(h or {}).get("version"), **self._transfer())
        log.info("installed %s (%s) into slot %s: boots next as a trial", r["version"], r["kind"], r["slot"])
        return R.record(self.st, "installed", None, target=path, kind=r["kind"], version=r["version"],
                        slot=r["slot"], target_length=r["target_length"], **self._transfer())

    def _transfer(self):
        """What the last cycle moved: metadata bytes, target bytes on the wire, resumes."""
        out = {"check_bytes": self.last_check_bytes, "check_bytes_in": self.last_check_wire[0]}
        dl = self.last_download
        if dl is not None:
            out.update(bytes=dl.stats["wire_in"] + dl.stats["wire_out"], resumes=dl.stats["resumes"],
                       received=dl.stats["received"])
        return out

    def _block(self, h):
        """The target verified but cannot be installed here (the launcher
        refused what it holds): drop it, and take no target of that image again."""
        pend = self.pending_download()
        s = R.load_state(self.st)
        image = h.get("image_sha256")
        s["blocked"] = ([b for b in s.get("blocked") or () if b != image] + [image])[-R.HISTORY:]
        s.pop("downloaded", None)
        R.save_state(self.st, s)
        if pend is not None:
            pend[2].remove()

    def status(self):
        s = R.load_state(self.st)
        cfg = R.load_config(self.st)
        out = {"initialized": cfg is not None, "config": cfg, "last": s.get("last"),
               "last_outcome": s.get("last_outcome"), "downloaded": (s.get("downloaded") or {}).get("target")}
        try:
            from tuf.api.metadata import Metadata
            for role in ("root", "timestamp", "snapshot", "targets"):
                name = R.METADATA + "/%s.json" % role
                if self.meta.exists(name):
                    out["%s_version" % role] = Metadata.from_bytes(self.meta.read(name)).signed.version
        except Exception as e:                      # status must always answer
            out["metadata_error"] = str(e)
        return out
