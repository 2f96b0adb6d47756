"""Group 1, image management over the launcher (hearth.boot.launcher).

SMP slot 0 is the running image's launcher slot, slot 1 the other one.
An upload is received into UPLOAD under the storage root, SHA-256 hashed as
it arrives, and when complete checked against the client's `sha` and then
installed with Launcher.install: the same checks as `hearth.boot install`
(signature, board, bundle, security counter, downgrade), landing in the
inactive slot. Hearth's launcher has no "in the slot but not booting next"
state: an installed image is pending (it boots next, on trial), so state
write `test` of that hash is already done; `test` of an unconfirmed image
that is no longer pending (reverted) stages it again through the same checks.

Resume: the session (len, sha) is kept beside the partial file, so an upload
interrupted by a disconnect or a reset continues from the bytes already
stored when the client starts again with the same sha (the server answers
off = what it has; the partial file is re-hashed in slices first).
"""
import hashlib
import json
import os
import threading

from .. import errors as E
from ..header import OP_READ, OP_WRITE
from ..server import Deferred, SmpError, group_error

GROUP = 1
STATE, UPLOAD, ERASE, SLOT_INFO = 0, 1, 5, 6
UPLOAD_DIR = "smp"
UPLOAD_FILE = "upload.img"
SESSION_FILE = "upload.json"
HASH_SLICE = 64 * 1024


def _err(group_rc, reason, v1_rc):
    return group_error(group_rc, reason, v1_rc)


# launcher refusal codes -> (image group rc, v1 rc)
REFUSALS = {
    "downgrade": (E.IMG_CURRENT_VERSION_IS_NEWER, E.EBADSTATE),
    "rollback-target": (E.IMG_CURRENT_VERSION_IS_NEWER, E.EBADSTATE),
    "security-counter": (E.IMG_CURRENT_VERSION_IS_NEWER, E.EBADSTATE),
    "trial-running": (E.IMG_NO_FREE_SLOT, E.EBADSTATE),
    "io-error": (E.IMG_FLASH_WRITE_FAILED, E.EUNKNOWN),
    "not-initialized": (E.IMG_NO_IMAGE, E.ENOENT),
}


def _refused(e):
    code = getattr(e, "code", "")
    rc, v1 = REFUSALS.get(code, (E.IMG_INVALID_IMAGE_HEADER, E.EINVAL))
    return _err(rc, "install refused: %s" % e, v1)


class ImageGroup:
    def __init__(self, storage_root, launcher=None, log=None, launched_slot=None):
        from ...boot.launcher import Launcher
        from ...boot.storage import DirStorage
        self.root = os.fspath(storage_root)
        self.launcher = launcher or Launcher(DirStorage(self.root))
        self.log = log
        self.dir = os.path.join(self.root, UPLOAD_DIR)
        self.path = os.path.join(self.dir, UPLOAD_FILE)
        self.session = None         # {"len", "sha", "off", "hash"} while an upload runs
        # the slot the launcher started this process from (HEARTH_BOOT_SLOT): only
        # that image may confirm a trial, as hearth.boot.trial insists too
        self.launched_slot = launched_slot

    # -- state --------------------------------------------------------------------
    def _status(self):
        try:
            return self.launcher.status()
        except Exception as e:      # StateError: storage not provisioned, unreadable
            raise _err(E.IMG_NO_IMAGE, "no launcher state: %s" % e, E.ENOENT) from None

    @staticmethod
    def smp_slots(st):
        """[(smp slot, launcher slot)]: 0 is the running image's."""
        running = st["slot"] or st["active"] or "a"
        other = "b" if running == "a" else "a"
        return [(0, running), (1, other)]

    def images(self, st=None):
        st = st or self._status()
        out = []
        for n, s in self.smp_slots(st):
            meta = st["slots"].get(s)
            if not meta:
                continue
            running = s == st["slot"]
            out.append({"image": 0, "slot": n, "version": meta["version"],
                        "hash": bytes.fromhex(meta["digest"]), "bootable": True,
                        "pending": st["pending"] == s, "confirmed": bool(meta.get("confirmed")) and not (
                            running and st["trial"]),
                        "active": running, "permanent": False})
        return {"images": out, "splitStatus": 0}

    def state(self, req):
        if not req.write:
            return self.images()
        confirm = req.get("confirm", bool, False)
        digest = req.get("hash", bytes, None)
        st = self._status()
        slots = dict((meta_digest(st, s), s) for _n, s in self.smp_slots(st) if st["slots"].get(s))
        if digest is not None and digest not in slots:
            raise _err(E.IMG_HASH_NOT_FOUND, "no slot holds an image with hash %s" % digest.hex()[:16], E.ENOENT)
        target = slots.get(digest) if digest is not None else None
        running = st["slot"]
        if confirm:
            if target not in (None, running):
                raise _err(E.IMG_IMAGE_CONFIRMATION_DENIED, "Hearth boots a new image on trial first: mark it "
                           "for test (no --confirm); it confirms itself after its health check", E.EACCESSDENIED)
            if st["trial"]:
                if self.launched_slot != running:
                    raise _err(E.IMG_IMAGE_CONFIRMATION_DENIED, "this process is not the trial image the "
                               "launcher started (slot %s): it cannot vouch for it" % running, E.EACCESSDENIED)
                try:
                    self.launcher.confirm()
                except Exception as e:
                    raise _refused(e) from None
            return self.images()
        if target is None:
            raise SmpError(E.EINVAL, "test needs the image's hash")
        if target == running:
            raise _err(E.IMG_SETTING_TEST_TO_ACTIVE_DENIED, "that image is the running one", E.EBADSTATE)
        if st["pending"] == target:
            return self.images(st)          # installed means pending: nothing to do
        return Deferred(self._install_job(self._slot_path(target), self.images))

    def _slot_path(self, slot):
        from ...boot import state as S
        return self.launcher.st.local_path(S.slot_file(slot))

    # -- upload -------------------------------------------------------------------
    def _save_session(self, length, sha):
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(self.dir, SESSION_FILE), "w") as f:
            json.dump({"len": length, "sha": sha.hex() if sha else None}, f)
        with open(self.path, "wb"):
            pass

    def _stored_session(self):
        try:
            with open(os.path.join(self.dir, SESSION_FILE)) as f:
                rec = json.load(f)
            size = os.path.getsize(self.path)
            return int(rec["len"]), bytes.fromhex(rec["sha"]) if rec.get("sha") else None, size
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def drop_session(self):
        self.session = None
        for name in (SESSION_FILE, UPLOAD_FILE):
            try:
                os.remove(os.path.join(self.dir, name))
            except OSError:
                pass

    def _slot_bytes(self):
        try:
            return int(self.launcher.device["slot_bytes"])
        except Exception as e:
            raise _err(E.IMG_NO_IMAGE, "storage is not provisioned (hearth.boot init): %s" % e, E.ENOENT) from None

    def upload(self, req):
        off = req.get("off", int, required=True)
        data = req.get("data", bytes, required=True)
        if off < 0:
            raise _err(E.IMG_INVALID_OFFSET, "off must be >= 0", E.EINVAL)
        s = self.session
        if off == 0:
            length = req.get("len", int, required=True)
            sha = req.get("sha", bytes, None)
            req.get("image", int, 0)
            if sha is not None and not 1 <= len(sha) <= 32:
                raise _err(E.IMG_INVALID_HASH, "sha must be 1 to 32 bytes", E.EINVAL)
            limit = self._slot_bytes()
            if self._status()["trial"]:
                # refused now rather than after the whole upload (install would refuse it)
                raise _err(E.IMG_NO_FREE_SLOT, "a trial image is running: it must confirm itself (or be "
                           "reverted) before another image can be uploaded", E.EBADSTATE)
            if not 0 < length <= limit:
                raise _err(E.IMG_INVALID_IMAGE_TOO_LARGE if length > 0 else E.IMG_INVALID_LENGTH,
                           "image of %d bytes; a slot holds %d" % (length, limit), E.ENOMEM)
            if sha and s is not None and s["sha"] == sha and s["len"] == length and 0 < s["off"] < length:
                return {"off": s["off"]}                        # resume in this run
            stored = self._stored_session() if sha and s is None else None
            if stored and stored[0] == length and stored[1] == sha and 0 < stored[2] < length:
                return Deferred(self._resume_job(length, sha, stored[2]))   # resume after a reset
            self._save_session(length, sha)
            s = self.session = {"len": length, "sha": sha, "off": 0, "hash": hashlib.sha256()}
        elif s is None:
            return {"off": 0}                       # no upload in progress: start again from 0
        if off != s["off"]:
            return {"off": s["off"]}                # a lost or repeated chunk: the client follows
        if off + len(data) > s["len"]:
            raise _err(E.IMG_INVALID_IMAGE_DATA_OVERRUN, "data runs past the image's len %d" % s["len"], E.EINVAL)
        try:
            with open(self.path, "r+b") as f:
                f.seek(off)
                f.write(data)
        except OSError as e:
            self.drop_session()
            raise _err(E.IMG_FLASH_WRITE_FAILED, "cannot store the upload: %s" % e.strerror, E.EUNKNOWN) from None
        s["hash"].update(data)
        s["off"] = off + len(data)
        if s["off"] < s["len"]:
            return {"off": s["off"]}
        return Deferred(self._finish_job(s))

    def _resume_job(self, length, sha, size):
        h = hashlib.sha256()
        with open(self.path, "rb") as f:
            done = 0
            while done < size:
                chunk = f.read(min(HASH_SLICE, size - done))
                if not chunk:
                    break
                h.update(chunk)
                done += len(chunk)
                yield
        self.session = {"len": length, "sha": sha, "off": done, "hash": h}
        return {"off": done}

    def _finish_job(self, s):
        yield
        if s["sha"] is not None and s["hash"].digest()[:len(s["sha"])] != s["sha"]:
            self.drop_session()
            raise _err(E.IMG_INVALID_HASH, "the uploaded file's SHA-256 is not the sha sent: upload it again",
                       E.ECORRUPT)
        result = yield from self._install_job(self.path, lambda: {"off": s["len"], "match": True})
        return result

    def _install_job(self, path, answer):
        """Launcher.install in a worker thread (it reads, hashes and verifies the
        whole image); the loop's poll only checks on it."""
        out = {}

        def work():
            try:
                with open(path, "rb") as f:
                    out["ok"] = self.launcher.install(f)
            except Exception as e:
                out["error"] = e
        t = threading.Thread(target=work, name="smp-install", daemon=True)
        t.start()
        while t.is_alive():
            yield
        if path == self.path:
            self.drop_session()
        if "error" in out:
            raise _refused(out["error"])
        if self.log is not None:
            r = out["ok"]
            self.log("image %s installed in slot %s: it boots next, on trial" % (r["version"], r["slot"]))
        return answer()

    def erase(self, req):
        slot = req.get("slot", int, 1)
        if slot != 1:
            raise _err(E.IMG_INVALID_SLOT, "only slot 1 (the inactive slot) can be erased", E.EINVAL)
        st = self._status()
        inactive = self.smp_slots(st)[1][1]
        if st["pending"] == inactive:
            raise SmpError(E.EBADSTATE, "slot 1 holds the image that boots next")
        self.drop_session()
        return {}

    def slot_info(self, req):
        size = self._slot_bytes()
        return {"images": [{"image": 0, "slots": [{"slot": 0, "size": size}, {"slot": 1, "size": size}],
                            "max_image_size": size}]}


def meta_digest(st, slot):
    return bytes.fromhex(st["slots"][slot]["digest"])


def register(server, storage_root, log=None, launcher=None, launched_slot=None):
    g = ImageGroup(storage_root, launcher=launcher, log=log, launched_slot=launched_slot)
    server.add(GROUP, STATE, g.state)
    server.add(GROUP, UPLOAD, g.upload, (OP_WRITE,))
    server.add(GROUP, ERASE, g.erase, (OP_WRITE,))
    server.add(GROUP, SLOT_INFO, g.slot_info, (OP_READ,))
    return g
