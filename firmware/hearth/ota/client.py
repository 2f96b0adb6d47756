"""The OTA client: python-tuf's ngclient for trust, the launcher for installing.

    Client(storage_dir).init(root_bytes, device_id, ring, url)   provision (once)
    .refresh()     root -> timestamp -> snapshot -> targets, all verified
    .check()       refresh, then the target this device takes (select.choose)
    .download(p)   fetch a target into ota/downloads (length and hashes checked)
    .install()     stream the downloaded target into the inactive slot
    .update()      check + download + install; every outcome recorded, never raised

Nothing here trusts the server: ngclient refuses rolled-back, expired,
mixed, oversized or badly signed metadata and targets; select refuses other
boards, older releases and halted rollouts; the launcher refuses any image
its own keys and checks do not accept. A refusal leaves the running image
alone, is logged and recorded (record.py) with the reason.
"""
import hashlib
import logging
import lzma
import os
import uuid

from ..boot import state as S
from ..boot.launcher import Launcher
from ..boot.storage import DirStorage
from . import record as R
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
    """The resumable, bounded fetcher (hearth.ota.fetcher) when this firmware
    has it; else None: ngclient's own urllib3 fetcher."""
    try:
        from .fetcher import HearthFetcher
    except ImportError:
        return None
    return HearthFetcher()


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


XZ_MEMLIMIT = 16 << 20       # the repository writes dictionaries of at most 8 MiB


class _XzReader:
    """Decompress an .xz file while the launcher reads it, in bounded memory."""

    def __init__(self, f, chunk=1 << 16):
        self.f, self.chunk = f, chunk
        self.d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT)

    def read(self, n):
        while True:
            if self.d.eof:
                return b""
            data = b"" if self.d.needs_input is False else self.f.read(self.chunk)
            if not data and self.d.needs_input:
                raise OtaError("bad-compression", "the compressed image ends early")
            try:
                out = self.d.decompress(data, max_length=n)
            except lzma.LZMAError as e:
                raise OtaError("bad-compression", "the compressed image is corrupt: %s" % e) from None
            if out:
                return out


class Client:
    def __init__(self, storage_dir, url=None, fetcher=None, launcher=None):
        self.st = DirStorage(storage_dir) if isinstance(storage_dir, str) else storage_dir
        self.launcher = launcher or Launcher(self.st)
        self.fetcher = fetcher if fetcher is not None else _default_fetcher()
        self._url = url

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
            self.st.remove_tree(R.METADATA)
        self.st.write_atomic(R.METADATA + "/root.json", bytes(root_bytes))
        cfg = {"format": 1, "device_id": device_id or uuid.uuid4().hex, "ring": ring or EVERYONE,
               "url": url or self._url}
        R.save_config(self.st, cfg)
        return dict(cfg, root_version=md.signed.version)

    @property
    def config(self):
        cfg = R.load_config(self.st)
        if cfg is None:
            raise OtaError("not-initialized", "OTA is not initialized: run `python -m hearth.ota init ROOT.json`")
        return cfg

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
        self.st.ensure_dir(R.DOWNLOADS)
        kw = {"fetcher": self.fetcher} if self.fetcher is not None else {}
        # bootstrap=None: the root we trust is the one on storage, as provisioned
        # and then advanced by verified rotations, never one shipped alongside
        return Updater(self.st.local_path(R.METADATA), self.url + "metadata/",
                       self.st.local_path(R.DOWNLOADS), self.url + "targets/", bootstrap=None, **kw)

    def refresh(self):
        u = self.updater()
        u.refresh()
        return u

    def _trusted_targets(self):
        """{path: custom} of the targets metadata ngclient verified and persisted."""
        from tuf.api.metadata import Metadata
        md = Metadata.from_bytes(self.st.read(R.METADATA + "/targets.json"))
        return {p: tf.custom for p, tf in md.signed.targets.items()}

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
        if dev["trial"]:
            return None, None, "a trial image is pending or running: confirm or revert it first"
        blocked = set(R.load_state(self.st).get("blocked") or ())
        targets = {p: c for p, c in self._trusted_targets().items()
                   if _image_of(c) not in blocked}
        return choose(targets, dev)

    def download(self, path, updater=None):
        """Fetch target `path` (verified against the signed metadata) into
        ota/downloads; refuse one for other hardware. Returns the local file."""
        u = updater or self.refresh()
        info = u.get_targetinfo(path)
        if info is None:
            raise OtaError("no-target", "the repository has no target %r" % path)
        h = (info.custom or {}).get("hearth") if isinstance(info.custom, dict) else None
        dev = self.device()
        if not isinstance(h, dict) or (h.get("board"), h.get("arch")) != (dev["board"], dev["arch"]):
            raise OtaError("wrong-hardware", "target %r is for %s/%s, this device is %s/%s" % (
                path, (h or {}).get("board"), (h or {}).get("arch"), dev["board"], dev["arch"]))
        local = os.path.join(self.st.local_path(R.DOWNLOADS), os.path.basename(path))
        got = u.find_cached_target(info, local) or u.download_target(info, local)
        s = R.load_state(self.st)
        s["downloaded"] = {"target": path, "file": os.path.basename(got), "info": info.to_dict()}
        R.save_state(self.st, s)
        return got, h, info

    def _downloaded(self):
        from tuf.api.metadata import TargetFile
        d = R.load_state(self.st).get("downloaded")
        if not isinstance(d, dict):
            raise OtaError("nothing-downloaded", "nothing is downloaded: run check and download first")
        info = TargetFile.from_dict(dict(d["info"]), d["target"])
        local = os.path.join(self.st.local_path(R.DOWNLOADS), os.path.basename(d["file"]))
        with open(local, "rb") as f:             # storage may have changed since the download
            info.verify_length_and_hashes(f)
        return local, info.custom["hearth"], d["target"]

    def install(self):
        """Install the downloaded target: a trial image, booted next by the launcher."""
        local, h, path = self._downloaded()
        dev = self.device()
        if (h.get("board"), h.get("arch")) != (dev["board"], dev["arch"]):
            raise OtaError("wrong-hardware", "target is for %s/%s, this device is %s/%s"
                           % (h.get("board"), h.get("arch"), dev["board"], dev["arch"]))
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
                tmp = local + ".image"
                base = self.st.local_path(S.slot_file(self.launcher.status()["slot"]))
                apply_file(base, local, tmp, max_result=length)
                src = open(tmp, "rb")
            elif h.get("compression") == "xz":
                src = _XzReader(open(local, "rb"))
            else:
                src = open(local, "rb")
            raw = src.f if isinstance(src, _XzReader) else src
            try:
                r = self.launcher.install(_Checked(src, length, sha))
            finally:
                raw.close()
        finally:
            if tmp and os.path.exists(tmp):
                os.remove(tmp)
        if r["digest"] != h["image_digest"]:        # cannot happen if the sha256 matched; cheap to say
            self.launcher.revert()
            raise OtaError("image-mismatch", "installed digest %s is not the target's" % r["digest"][:16])
        downloaded = os.path.getsize(local)
        os.remove(local)
        s = R.load_state(self.st)
        s.pop("downloaded", None)
        R.save_state(self.st, s)
        return dict(r, target=path, kind=h["kind"], target_length=downloaded)

    # -- the whole cycle ----------------------------------------------------------
    def update(self):
        """One check-and-update cycle. Returns the recorded outcome; never raises
        for what a server or the network can do."""
        path = h = None
        try:
            u = self.refresh()
            path, h, why = self.check(u)
            if path is None:
                return R.record(self.st, "nothing", why)
            self.download(path, u)
            r = self.install()
        except Exception as e:                      # everything the channel can cause ends here
            code, msg = reason_of(e)
            log.warning("update refused (%s): %s", code, msg)
            if path and code.startswith(_BLOCKING):
                self._block(path, h)
            return R.record(self.st, "refused", msg, code=code, target=path,
                            kind=(h or {}).get("kind"), version=(h or {}).get("version"))
        log.info("installed %s (%s) into slot %s: boots next as a trial", r["version"], r["kind"], r["slot"])
        return R.record(self.st, "installed", None, target=path, kind=r["kind"], version=r["version"],
                        slot=r["slot"], bytes=r["target_length"])

    def _block(self, path, h):
        """The target verified but cannot be installed here (the launcher
        refused what it holds): drop it, and take no target of that image again."""
        s = R.load_state(self.st)
        image = h.get("image_sha256")
        s["blocked"] = ([b for b in s.get("blocked") or () if b != image] + [image])[-R.HISTORY:]
        s.pop("downloaded", None)
        R.save_state(self.st, s)
        local = os.path.join(self.st.local_path(R.DOWNLOADS), os.path.basename(path))
        if os.path.exists(local):
            os.remove(local)

    def status(self):
        s = R.load_state(self.st)
        cfg = R.load_config(self.st)
        out = {"initialized": cfg is not None, "config": cfg, "last": s.get("last"),
               "last_outcome": s.get("last_outcome"), "downloaded": (s.get("downloaded") or {}).get("target")}
        try:
            from tuf.api.metadata import Metadata
            for role in ("root", "timestamp", "snapshot", "targets"):
                name = R.METADATA + "/%s.json" % role
                if self.st.exists(name):
                    out["%s_version" % role] = Metadata.from_bytes(self.st.read(name)).signed.version
        except Exception as e:                      # status must always answer
            out["metadata_error"] = str(e)
        return out
