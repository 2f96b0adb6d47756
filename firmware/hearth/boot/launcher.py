"""A/B slots with trial boot, confirm, revert and anti-rollback.

Semantics follow MCUboot's test/confirm/revert and Mender's boot counting:

  install   receive an image into boot/incoming.img while parsing it, verify
            digest, signature, bundle, board/arch, launcher version and
            security counter, then rename it over the inactive slot and mark
            that slot for trial. The running slot is never written.
  boot      pick the slot: a trial slot runs at most max_attempts times (the
            attempt is counted before it runs); then, or as soon as it fails
            verification, the launcher reverts to the confirmed slot. A
            confirmed slot that no longer verifies falls back to the other
            confirmed slot; with none left the device enters recovery.
  confirm   the running trial image, after its health check, becomes the
            confirmed one; the stored security counter rises to its counter.
  revert    cancel a trial, or go back to the previous confirmed image when
            its security counter and the current image's rollback target allow.

Every state change is one save of the state record (two checksummed,
sequence-numbered copies written one after the other, plus the confirm
record; see state.py), ordered so that a power cut at any storage operation
leaves a bootable device and losing any one state file loses nothing;
tests/test_powercut.py cuts at every operation and damages each file.

I/O errors (EIO, EACCES, ENOSPC, EISDIR, ...) never escape as tracebacks:
a slot that cannot be read is refused like a bad image; boot() falls back to
another confirmed slot when the decision cannot be recorded or the run
directory cannot be extracted, else returns a recovery decision naming the
error; install/confirm/revert/status refuse with StateError("io-error").
tests/test_boot_ioerrors.py injects each errno at each storage operation.
"""
import contextlib
import functools
import hashlib

from ..image import manifest as manifest_mod
from ..image import mcuboot
from ..image.errors import ImageError
from . import state as S
from .state import StateError

LAUNCHER_VERSION = "1.0.0"

# What boot does with a pending trial slot:
#   (attempts left?, trial image verifies?) -> action
TRIAL_ACTIONS = {
    (True, True): "boot-trial",    # count the attempt first, then run it
    (True, False): "revert",       # corrupted or no longer allowed: never run it
    (False, True): "revert",       # ran max_attempts times without confirming
    (False, False): "revert",
}


class Verified:
    """A slot whose image passed every check."""

    def __init__(self, slot, img, manifest, entries, data):
        self.slot = slot
        self.img = img
        self.manifest = manifest
        self.entries = entries
        self.data = data

    @property
    def version(self):
        return self.img.version_str


class Decision:
    def __init__(self, slot=None, verified=None, trial=False, recovery=False, reasons=(), event=None):
        self.slot = slot
        self.verified = verified
        self.trial = trial
        self.recovery = recovery
        self.reasons = list(reasons)
        self.event = event
        self.run_dir = None

    def describe(self):
        v = self.verified
        return {
            "slot": self.slot,
            "trial": self.trial,
            "recovery": self.recovery,
            "version": v.version if v else None,
            "entry": v.manifest["entry"] if v else None,
            "digest": v.img.digest.hex() if v else None,
            "run_dir": self.run_dir,
            "reasons": self.reasons,
            "event": self.event,
        }


def _meta(v, confirmed):
    return {
        "digest": v.img.digest.hex(),
        "version": v.version,
        "security_counter": v.img.security_counter,
        "size": v.img.total_size,
        "rollback_target": v.manifest["rollback_target"],
        "confirmed": confirmed,
    }


def _io_reason(e):
    """One line for an OSError: what failed, on which file."""
    return "%s (%s)" % (e.strerror or e, e.filename) if e.filename else str(e.strerror or e)


def _refuse_io_errors(op, partial=None):
    """A storage error during `op` becomes a one-line refusal, not a traceback;
    `partial` (a file the operation was writing) is removed whatever refused
    the operation (storage, a bad image, the source), so it keeps no space."""
    @functools.wraps(op)
    def wrapper(self, *args, **kwargs):
        try:
            return op(self, *args, **kwargs)
        except BaseException as e:
            if partial is not None:
                try:
                    if self.st.exists(partial):
                        self.st.remove(partial)
                except OSError:
                    pass
            if not isinstance(e, OSError):
                raise
            raise StateError("io-error", "%s failed on the storage: %s; check the storage medium "
                             "(kernel log) and its free space, then retry" % (op.__name__, _io_reason(e))) from None
    return wrapper


class _SourceError(Exception):
    """Reading the image being installed failed: the caller's error, not the storage's."""


class _Source:
    def __init__(self, f):
        self.f = f

    def read(self, n):
        try:
            return self.f.read(n)
        except OSError as e:
            raise _SourceError(e) from None


def _install_refusing_io_errors(install):
    """install() with storage errors refused in one line (the partial
    incoming image removed); errors reading the source stay what they were."""
    guarded = _refuse_io_errors(install, partial=S.INCOMING)

    @functools.wraps(install)
    def wrapper(self, source, *args, **kwargs):
        if isinstance(source, str):
            with open(source, "rb") as f:
                return wrapper(self, f, *args, **kwargs)
        try:
            return guarded(self, _Source(source) if hasattr(source, "read") else source, *args, **kwargs)
        except _SourceError as e:
            raise e.args[0] from None
    return wrapper


def _bundle_files(v):
    """{path: bytes view} of the regular files of a verified bundle."""
    payload = memoryview(v.data)[v.img.payload_offset:v.img.payload_offset + v.img.payload_size]
    return {e.path: payload[e.offset:e.offset + e.size] for e in v.entries if e.kind == "file"}


def _tree_of(files):
    """The listing a run directory holding exactly `files` has (as Storage.list_tree)."""
    tree = {}
    for path in files:
        parts = path.split("/")
        for i in range(1, len(parts)):
            tree["/".join(parts[:i])] = "dir"
        tree[path] = "file"
    return tree


def _chunks(source, chunk):
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        for i in range(0, len(view), chunk):
            yield view[i:i + chunk]
        return
    if isinstance(source, str):
        with open(source, "rb") as f:
            yield from _chunks(f, chunk)
        return
    while True:
        b = source.read(chunk)
        if not b:
            return
        yield b


DELTA_DIR = "boot/delta"          # a delta apply in progress (hearth.delta.slot)


def _read_source(source, n):
    """Exactly n bytes (or fewer at the end) from a file-like source."""
    parts, got = [], 0
    while got < n:
        b = source.read(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


class _Prefixed:
    """Bytes already read from a stream, then the rest of it."""

    def __init__(self, head, rest):
        self._head = head
        self._rest = rest

    def read(self, n):
        if self._head:
            b, self._head = self._head[:n], self._head[n:]
            return b
        return self._rest.read(n)


class Launcher:
    def __init__(self, storage, launcher_version=LAUNCHER_VERSION):
        self.st = storage
        self.launcher_version = launcher_version
        self._device = None
        self._keys = None

    @property
    def device(self):
        if self._device is None:
            self._device = S.load_device(self.st)
        return self._device

    @property
    def keys(self):
        if self._keys is None:
            self._keys = S.load_keys(self.st)
        return self._keys

    # -- checks -----------------------------------------------------------
    def check_bytes(self, data, min_counter, slot=None, expect_digest=None):
        """Every check an image must pass before it may run. Returns Verified."""
        dev = self.device
        if not self.keys:
            raise StateError("no-keys", "no trusted keys in %s: re-run init with --key" % S.TRUST)
        img = mcuboot.verify(data, self.keys, max_size=dev["slot_bytes"])
        if expect_digest is not None and img.digest != expect_digest:
            raise ImageError("digest-mismatch", "slot %s does not hold the image the state recorded" % slot)
        man, entries = manifest_mod.open_bundle(img, data)
        manifest_mod.check_device(man, dev["board"], dev["arch"], self.launcher_version)
        if img.security_counter < min_counter:
            raise ImageError("security-counter", "image security counter %d is below the device's %d "
                             "(anti-rollback)" % (img.security_counter, min_counter))
        return Verified(slot, img, man, entries, data)

    def read_slot(self, slot):
        """The bytes of a slot's file; one that cannot be read is refused like a bad image."""
        try:
            return self.st.read(S.slot_file(slot))
        except FileNotFoundError:
            raise ImageError("missing", "slot %s has no image file" % slot) from None
        except OSError as e:
            raise ImageError("io-error", "slot %s cannot be read: %s" % (slot, _io_reason(e))) from None

    def check_slot(self, state, slot):
        meta = state["slots"][slot]
        if meta is None:
            raise StateError("empty-slot", "slot %s is empty" % slot)
        data = self.read_slot(slot)
        return self.check_bytes(data, state["security_counter"], slot, bytes.fromhex(meta["digest"]))

    # -- state ------------------------------------------------------------
    def _read(self):
        """(state, note, dirty) without writing: dirty when a copy or the
        confirm record needs rewriting, or the record had to be rebuilt."""
        got = S.read_state(self.st)
        if got.state is not None:
            stale = bool(got.problems) or S.load_confirmed(self.st) != S.confirmed_record(got.state)
            return got.state, got.note, stale
        if got.fresh and not any(self.st.exists(S.slot_file(s)) for s in S.SLOTS):
            state = S.new_state()        # nothing installed yet; the counter floor still holds
            state["security_counter"] = (S.load_confirmed(self.st) or state)["security_counter"]
            return state, got.note, False
        note = got.note if not got.fresh else "both state copies are missing"
        return self._rebuild(note), note, True

    def _load(self):
        """(state, dirty) for an operation that will save."""
        state, _note, dirty = self._read()
        return state, dirty

    def _rebuild(self, note):
        """Both state copies are lost: rebuild from the slots and the confirm record.

        Never trust more than is known: the slot the confirm record names is the
        confirmed one, every other slot is unconfirmed (a trial in progress is
        dropped, as by a revert) and the counter floor is the record's. When the
        confirm record is lost too, nothing says which image was confirmed: the
        slot with the lowest counter (then version) boots as a trial and must
        pass its health check again. A rebuild never raises the counter: with
        every record lost it is 0 until that trial confirms.
        """
        anchor = S.load_confirmed(self.st)
        floor = anchor["security_counter"] if anchor else 0
        state = S.new_state()
        n = self.device["max_attempts"]
        state["max_attempts"] = n if isinstance(n, int) and 1 <= n <= S.MAX_ATTEMPTS_LIMIT else S.DEFAULT_MAX_ATTEMPTS
        found = {}
        for s in S.SLOTS:
            if not self.st.exists(S.slot_file(s)):
                continue
            try:
                found[s] = self.check_bytes(self.read_slot(s), floor, s)
            except (ImageError, StateError):
                continue
            state["slots"][s] = _meta(found[s], confirmed=False)
        known = [s for s in S.SLOTS if s in found and anchor and found[s].img.digest.hex() == anchor["digest"]]
        if known:
            state["active"] = known[0]
            state["slots"][known[0]]["confirmed"] = True
            why = "slot %s holds the confirmed image" % known[0]
        elif found:
            t = min(found, key=lambda s: (found[s].img.security_counter,
                                          manifest_mod.parse_version(found[s].version), s))
            state["trial"] = t
            why = "no record says which image was confirmed: slot %s boots as a trial" % t
        else:
            why = "no slot holds a valid image"
        state["security_counter"] = floor
        state["last_event"] = {"event": "rebuilt", "reason": "%s; %s" % (note, why)}
        return state

    def _drop_trial(self, state, reason):
        t = state["trial"]
        meta = state["slots"][t] or {}
        state["trial"] = None
        state["attempts"] = 0
        state["last_event"] = {"event": "revert", "slot": t, "version": meta.get("version"), "reason": reason}

    # -- operations -------------------------------------------------------
    @_install_refusing_io_errors
    def install(self, source, max_attempts=None, chunk=1 << 16, allow_downgrade=False):
        """Receive, verify and stage an image for a trial boot. Returns a summary dict.

        An image older than the confirmed one needs allow_downgrade; one older
        than the confirmed image's rollback_target, or below the security
        counter, is always refused.
        """
        st = self.st
        with st.lock():
            dev = self.device
            if max_attempts is None:      # init of an older launcher stored whatever it was given
                attempts = S.check_max_attempts(dev["max_attempts"], "%s holds it: give --max-attempts 1..%d, "
                                                "or re-run init --force" % (S.DEVICE, S.MAX_ATTEMPTS_LIMIT))
            else:
                attempts = S.check_max_attempts(max_attempts)
            state, dirty = self._state_for_install()
            target = self._target(state)
            parser = mcuboot.ImageParser(max_size=dev["slot_bytes"])
            it = _chunks(source, chunk)
            first = next(it, b"")
            parser.feed(first)            # a bad header is refused before any write
            h = st.open_write(S.INCOMING)
            try:
                st.write(h, first)
                for b in it:
                    parser.feed(b)
                    st.write(h, b)
                st.fsync(h)
            finally:
                st.close(h)
            img = parser.finish()
            mcuboot.verify_signature(img, self.keys)
            # check what storage actually holds, not what we meant to write
            v = self.check_bytes(st.read(S.INCOMING), state["security_counter"], target, img.digest)
            self._check_downgrade(state, v, allow_downgrade)
            # commit: first forget what the target slot held, then replace it
            self._forget_target(state, target, dirty)
            st.rename(S.INCOMING, S.slot_file(target))
            st.fsync_dir(S.BOOT)
            state["slots"][target] = _meta(v, confirmed=False)
            state["trial"] = target
            state["attempts"] = 0
            state["max_attempts"] = attempts
            state["last_event"] = {"event": "install", "slot": target, "version": v.version}
            S.save_state(st, state)
            return {"slot": target, "version": v.version, "security_counter": v.img.security_counter,
                    "digest": v.img.digest.hex(), "trial": True, "max_attempts": state["max_attempts"]}

    def install_delta(self, patch, max_attempts=None, allow_downgrade=False):
        """Apply a delta patch (hearth.delta) against the active slot, then install
        the result exactly as a full image (install(): digest, signature, bundle,
        board, counter checks; trial boot). Returns install()'s summary plus "delta".

        The patch's base must be the active slot's file (size and SHA-256): any
        other patch is refused before anything is written. Then the target slot
        is recorded empty and the result is built in boot/delta/ segment by
        segment (hearth.delta.slot), so a power cut resumes the same patch where
        it stopped. A patch found bad discards the partial result; a truncated
        one keeps it, so the rest can be supplied later.
        """
        if isinstance(patch, str):
            with open(patch, "rb") as f:
                return self.install_delta(f, max_attempts, allow_downgrade)
        from ..delta import DeltaError, applier
        from ..delta.slot import StorageBase, StorageOutput
        out = StorageOutput(self.st, DELTA_DIR)
        try:
            summary = self._apply_delta(_Source(patch), out, applier, StorageBase, DeltaError)
        except _SourceError as e:
            raise e.args[0] from None                # reading the patch failed: the caller's error
        try:
            r = self.install(out.reader(), max_attempts=max_attempts, allow_downgrade=allow_downgrade)
        except (ImageError, StateError):
            self._discard_delta(out)
            raise
        self._discard_delta(out)
        r["delta"] = summary.describe()
        return r

    def _discard_delta(self, out):
        """Remove boot/delta/ if the storage lets us: what is left is harmless (the
        next delta apply checks it or starts again) and must not hide the result."""
        try:
            with self.st.lock():
                out.discard()
        except OSError:
            pass

    @_refuse_io_errors
    def _apply_delta(self, patch, out, applier, StorageBase, DeltaError):
        st = self.st
        with st.lock():
            dev = self.device
            state, dirty = self._state_for_install()
            a = state["active"]
            if a is None or state["slots"][a] is None:
                raise StateError("no-base", "no confirmed image runs on this device, so there is nothing to apply "
                                 "a delta to: install a full image")
            head = _read_source(patch, applier.F.HEADER_SIZE)
            header = applier.F.parse_header(head)
            if header.result_size > dev["slot_bytes"]:
                raise DeltaError("result-too-big", "the patch makes a %d-byte image, the slot holds %d bytes"
                                 % (header.result_size, dev["slot_bytes"]))
            try:
                base = StorageBase(st, S.slot_file(a))
            except FileNotFoundError:
                raise ImageError("missing", "slot %s has no image file" % a) from None
            try:
                applier.check_base(header, base)        # refused here: nothing written yet
                done = out.load()
                if done is not None and done.get("header") != applier.header_id(header):
                    out.discard()                        # a cut-off apply of another patch
                self._forget_target(state, self._target(state), dirty)
                try:
                    return applier.apply(base, _Prefixed(head, patch), out, checkpoint=out,
                                         max_result=dev["slot_bytes"])
                except DeltaError as e:
                    if e.code == "truncated":
                        out.close()              # resumable: the finished segments stay
                    else:
                        out.discard()
                    raise
            finally:
                base.close()

    def _state_for_install(self):
        """(state, dirty) for an install into the inactive slot (full or delta):
        refused without trusted keys or while a trial image runs."""
        if not self.keys:
            raise StateError("no-keys", "no trusted keys in %s: re-run init with --key" % S.TRUST)
        state, dirty = self._load()
        if state["trial"] is not None and state["attempts"] > 0:
            raise StateError("trial-running", "slot %s is running a trial image; confirm or revert it first"
                             % state["trial"])
        return state, dirty

    def _forget_target(self, state, target, dirty):
        """Record the target slot empty (and no trial there) before it is written."""
        if state["trial"] == target or state["slots"][target] is not None or dirty:
            if state["trial"] == target:
                state["trial"] = None
                state["attempts"] = 0
            state["slots"][target] = None
            S.save_state(self.st, state)

    @staticmethod
    def _check_downgrade(state, v, allow_downgrade):
        a = state["active"]
        meta = state["slots"][a] if a is not None else None
        if meta is None:
            return                           # nothing confirmed to compare with
        new = manifest_mod.parse_version(v.version)
        target = meta.get("rollback_target")
        if target and new < manifest_mod.parse_version(target):
            raise StateError("rollback-target", "the running image %s allows rollback only to %s or later; "
                             "this image is %s: build a newer one" % (meta["version"], target, v.version))
        if new < manifest_mod.parse_version(meta["version"]) and not allow_downgrade:
            raise StateError("downgrade", "image %s is older than the confirmed %s: give --allow-downgrade "
                             "to install it anyway" % (v.version, meta["version"]))

    @staticmethod
    def _target(state):
        if state["trial"] is not None:
            return state["trial"]          # replace a trial that has not booted yet
        if state["active"] is not None:
            return S.other(state["active"])
        for s in S.SLOTS:
            if state["slots"][s] is None:
                return s
        return S.SLOTS[0]

    def select(self, dry_run=False):
        """The boot decision. Counts trial attempts and reverts; returns a Decision.
        dry_run: decide the same way but write nothing (`boot --no-run`): not
        even the lock file, and storage that was never initialized is refused
        as such instead of being reported as recovery."""
        st = self.st
        save = (lambda state: None) if dry_run else (lambda state: S.save_state(st, state))
        if dry_run:
            self.device                 # refuses "not-initialized" (the record is only read)
        with (contextlib.nullcontext() if dry_run else st.lock()):
            state, dirty = self._load()
            reasons = []
            event = None
            t = state["trial"]
            if t is not None:
                left = state["attempts"] < state["max_attempts"]
                verified, why = None, None
                try:
                    verified = self.check_slot(state, t)
                except (ImageError, StateError) as e:
                    why = str(e)
                action = TRIAL_ACTIONS[(left, verified is not None)]
                if action == "boot-trial":
                    state["attempts"] += 1
                    save(state)
                    return Decision(t, verified, trial=True)
                reason = ("trial not confirmed after %d boot(s)" % state["attempts"]) if not left else why
                self._drop_trial(state, reason)
                event = state["last_event"]
                reasons.append("slot %s: %s" % (t, reason))
                dirty = True
            a = state["active"]
            if a is not None:
                try:
                    v = self.check_slot(state, a)
                    if dirty:
                        save(state)
                    return Decision(a, v, event=event, reasons=reasons)
                except (ImageError, StateError) as e:
                    reasons.append("slot %s: %s" % (a, e))
            for s in S.SLOTS:
                meta = state["slots"][s]
                if s == a or meta is None or not meta.get("confirmed"):
                    continue
                try:
                    v = self.check_slot(state, s)
                except (ImageError, StateError) as e:
                    reasons.append("slot %s: %s" % (s, e))
                    continue
                state["active"] = s
                state["last_event"] = event = {"event": "fallback", "slot": s, "version": v.version,
                                               "reason": "; ".join(reasons)}
                save(state)
                return Decision(s, v, event=event, reasons=reasons)
            if dirty:
                save(state)
            if not reasons:
                reasons.append("no image installed")
            return Decision(None, None, recovery=True, reasons=reasons, event=event)

    @_refuse_io_errors
    def confirm(self):
        """Called by the running image after its health check passed."""
        st = self.st
        with st.lock():
            state, _dirty = self._load()
            t = state["trial"]
            if t is None:
                out = self.status()
                out["confirmed"] = False
                out["note"] = "no trial image: the running image is already confirmed"
                return out
            if state["attempts"] == 0:
                raise StateError("not-booted", "slot %s holds a trial image that has not booted yet" % t)
            meta = state["slots"][t]
            meta["confirmed"] = True
            state["active"] = t
            state["trial"] = None
            state["attempts"] = 0
            state["security_counter"] = max(state["security_counter"], meta["security_counter"])
            state["last_event"] = {"event": "confirm", "slot": t, "version": meta["version"]}
            S.save_state(st, state)
        out = self.status()
        out["confirmed"] = True
        return out

    @_refuse_io_errors
    def revert(self):
        """Cancel a trial, or return to the previous confirmed image."""
        st = self.st
        with st.lock():
            state, _dirty = self._load()
            if state["trial"] is not None:
                self._drop_trial(state, "reverted by request")
                S.save_state(st, state)
                return self.status()
            a = state["active"]
            if a is None:
                raise StateError("nothing-to-revert", "no confirmed image: nothing to revert")
            o = S.other(a)
            meta = state["slots"][o]
            if meta is None or not meta.get("confirmed"):
                raise StateError("nothing-to-revert", "slot %s holds no previous confirmed image" % o)
            try:
                v = self.check_slot(state, o)
            except (ImageError, StateError) as e:
                raise StateError("revert-refused", "cannot revert to slot %s: %s" % (o, e)) from None
            target = state["slots"][a].get("rollback_target")
            if target and manifest_mod.parse_version(v.version) < manifest_mod.parse_version(target):
                raise StateError("revert-refused", "the running image allows rollback only to %s or later; "
                                 "slot %s holds %s" % (target, o, v.version))
            state["active"] = o
            state["last_event"] = {"event": "revert", "slot": o, "version": v.version,
                                   "reason": "reverted by request"}
            S.save_state(st, state)
        return self.status()

    @_refuse_io_errors
    def status(self):
        dev = self.device                    # refuses on an uninitialized storage
        state, note, _dirty = self._read()
        t = state["trial"]
        running = t if (t is not None and state["attempts"] > 0) else state["active"]
        slots = state["slots"]
        out = {
            "slot": running,
            "trial": bool(t is not None and state["attempts"] > 0),
            "pending": t if (t is not None and state["attempts"] == 0) else None,
            "version": slots[running]["version"] if running else None,
            "active": state["active"],
            "attempts": state["attempts"],
            "max_attempts": state["max_attempts"],
            "security_counter": state["security_counter"],
            "recovery": running is None and t is None,
            "slots": slots,
            "last_event": state["last_event"],
            "launcher_version": self.launcher_version,
            "state_note": note,
            "board": dev["board"],
            "arch": dev["arch"],
        }
        return out

    def boot(self):
        """select() and materialize(), whatever the storage does: a Decision.

        An I/O error while deciding or recording the decision (state, lock,
        device record) or while extracting the run directory boots another
        confirmed slot that verifies and extracts, without recording anything
        (the next boot tries again); with none left the decision is recovery
        and its reasons say what failed. A trial never runs unrecorded: its
        attempt must be counted first.
        """
        reasons, tried = [], set()
        try:
            d = self.select()
        except OSError as e:
            reasons.append("cannot record the boot decision: %s" % _io_reason(e))
        else:
            if d.recovery:
                return d
            try:
                self.materialize(d)
                return d
            except (OSError, ImageError) as e:
                why = _io_reason(e) if isinstance(e, OSError) else str(e)
                reasons = d.reasons + ["slot %s: cannot extract its run directory: %s" % (d.slot, why)]
                tried.add(d.slot)
        return self._boot_unrecorded(reasons, tried)

    def _boot_unrecorded(self, reasons, tried):
        try:
            state, _dirty = self._load()
        except OSError as e:
            reasons.append("cannot read the boot state: %s" % _io_reason(e))
            return Decision(None, None, recovery=True, reasons=reasons)
        for s in (state["active"],) + tuple(x for x in S.SLOTS if x != state["active"]):
            meta = state["slots"].get(s) if s else None
            if s in tried or not meta or not meta.get("confirmed"):
                continue
            try:
                v = self.check_slot(state, s)
                d = Decision(s, v, reasons=reasons, event={
                    "event": "fallback", "slot": s, "version": v.version, "recorded": False,
                    "reason": "; ".join(reasons)})
                self.materialize(d)
                return d
            except (ImageError, StateError) as e:
                reasons.append("slot %s: %s" % (s, e))
            except OSError as e:
                reasons.append("slot %s: %s" % (s, _io_reason(e)))
        return Decision(None, None, recovery=True, reasons=reasons)

    def materialize(self, decision):
        """Make boot/run/<digest16>/ hold exactly the chosen slot's bundle.

        The run directory is a cache of the slot, checked at every boot: its
        full listing (every file and directory, whatever the name) and every
        file's bytes must equal the verified bundle's. On any difference it is
        removed and extracted again, so nothing planted there (a
        sitecustomize.py, a __pycache__, a symlink) is there when the image
        runs. Run directories of images no slot holds are removed first,
        which frees the space an extraction needs. Nothing is fsynced: the
        next boot re-checks. Raises OSError, or ImageError("run-dir") when
        the directory cannot be made exact.
        """
        v = decision.verified
        st = self.st
        run = "%s/%s" % (S.RUN, v.img.digest.hex()[:16])
        with st.lock():
            state, _ = S.load_state(st)
            keep = {v.img.digest.hex()[:16]}
            for meta in state["slots"].values():
                if meta:
                    keep.add(meta["digest"][:16])
            if st.list_tree(S.RUN).get("") == "other":
                st.remove_tree(S.RUN)            # a link out of the storage: unlinked, not written through
            for sub in st.listdir(S.RUN):
                if sub not in keep:
                    st.remove_tree("%s/%s" % (S.RUN, sub))
            files = _bundle_files(v)
            if not self._holds_exactly(run, files):
                st.remove_tree(run)
                for name, data in sorted(files.items()):
                    h = st.open_write("%s/%s" % (run, name))
                    try:
                        st.write(h, data)
                    finally:
                        st.close(h)
                if not self._holds_exactly(run, files):
                    raise ImageError("run-dir", "%s does not hold exactly the image's files after "
                                     "extracting it; check the storage" % run)
        decision.run_dir = run
        return run

    def _holds_exactly(self, run, files):
        if self.st.list_tree(run) != _tree_of(files):
            return False
        return all(self.st.read("%s/%s" % (run, name)) == data for name, data in files.items())


def init(st, board, keys_pem, max_attempts=S.DEFAULT_MAX_ATTEMPTS, force=False):
    """Provision the launcher: device record and trusted keys.

    board: dict with name, arch, slot_bytes (hearth.boot.device.load_board).
    keys_pem: list of (filename, pem bytes); public or private PEMs (only the
    public half is stored).
    """
    from cryptography.hazmat.primitives import serialization
    max_attempts = S.check_max_attempts(max_attempts)
    if st.exists(S.DEVICE) and not force:
        raise StateError("initialized", "storage is already initialized (use --force to replace it)")
    if not keys_pem:
        raise StateError("no-keys", "give at least one signing key (--key KEY.pem)")
    pubs = []
    for name, pem in keys_pem:
        k = mcuboot.TrustedKey.from_pem(pem, name)
        pub = serialization.load_der_public_key(k.der).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        pubs.append((hashlib.sha256(k.der).hexdigest()[:16], pub))
    with st.lock():
        # new keys first, then drop the others: a cut leaves a superset, never no key
        keep = set()
        for kid, pub in pubs:
            keep.add("%s/%s.pem" % (S.TRUST, kid))
            st.write_atomic("%s/%s.pem" % (S.TRUST, kid), pub)
        for old in st.list_files(S.TRUST):
            if old not in keep:
                st.remove(old)
        if st.list_files(S.TRUST):
            st.fsync_dir(S.TRUST)
        S.save_device(st, {"format": S.FORMAT, "board": board["name"], "arch": board["arch"],
                           "slot_bytes": int(board["slot_bytes"]), "max_attempts": max_attempts})
        if S.load_confirmed(st) is None:
            # the counter floor exists from the start, so a device that loses its
            # state copies before any confirm keeps its floor (0) too
            state = S.read_state(st).state or S.new_state()
            S.save_confirmed(st, S.confirmed_record(state))
    return {"board": board["name"], "arch": board["arch"], "slot_bytes": int(board["slot_bytes"]),
            "max_attempts": max_attempts, "keys": [kid for kid, _ in pubs]}
