"""The launcher's records in storage, and how they are written.

    boot/device.json    written once by `init`: board, arch, slot size, trial boots
    boot/trust/*.pem    public keys images must be signed with
    boot/state.json     the small state record, rewritten at every state change
    boot/slot-a.img     slot A: one signed MCUboot image
    boot/slot-b.img     slot B
    boot/incoming.img   an image being received (never booted from)
    boot/run/<digest>/  the bundle of a slot, extracted (a cache, rebuilt from the slot)

The state record is JSON wrapped with its own sha256 and written with
Storage.write_atomic (write-new, fsync, rename, fsync dir), so after any
power cut it is either the old record or the new one, never a mix. A record
that fails its checksum (bit rot, tampering) is rebuilt from the slots.
"""
import hashlib
import json
import posixpath

from ..image.errors import ImageError

BOOT = "boot"
STATE = "boot/state.json"
DEVICE = "boot/device.json"
TRUST = "boot/trust"
INCOMING = "boot/incoming.img"
RUN = "boot/run"
SLOTS = ("a", "b")
FORMAT = 1
DEFAULT_MAX_ATTEMPTS = 3


class StateError(Exception):
    """A launcher operation was refused (one line, says what to do)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code

    def __str__(self):
        return "%s: %s" % (self.code, self.args[0])


def slot_file(slot):
    return "%s/slot-%s.img" % (BOOT, slot)


def other(slot):
    return "b" if slot == "a" else "a"


def new_state():
    return {
        "format": FORMAT,
        "seq": 0,
        "active": None,        # confirmed slot booted normally
        "trial": None,         # slot installed for a trial boot, not yet confirmed
        "attempts": 0,         # boots of the trial slot so far
        "max_attempts": DEFAULT_MAX_ATTEMPTS,
        "security_counter": 0, # only ever rises (at confirm)
        "slots": {s: None for s in SLOTS},
        "last_event": None,
    }


def _wrap(record):
    body = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return (json.dumps({"record": record, "sha256": hashlib.sha256(body.encode()).hexdigest()},
                       sort_keys=True, indent=1) + "\n").encode()


def _unwrap(raw, what):
    try:
        doc = json.loads(raw.decode("utf-8"))
        record = doc["record"]
        body = json.dumps(record, sort_keys=True, separators=(",", ":"))
        if hashlib.sha256(body.encode()).hexdigest() != doc["sha256"]:
            raise ValueError("checksum mismatch")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        raise ValueError("%s is corrupt: %s" % (what, e)) from None
    return record


def load_state(st):
    """(state, note). note is None, "fresh" (no record yet) or why it was rebuilt."""
    if not st.exists(STATE):
        return new_state(), "fresh"
    try:
        record = _unwrap(st.read(STATE), STATE)
        _validate(record)
        return record, None
    except ValueError as e:
        return new_state(), str(e)
    except OSError as e:            # EIO, EISDIR, EACCES: rebuilt from the slots, like a corrupt record
        return new_state(), "%s cannot be read: %s" % (STATE, e.strerror or e)


def _validate(r):
    if not isinstance(r, dict) or r.get("format") != FORMAT:
        raise ValueError("state format %r is not supported" % (r.get("format") if isinstance(r, dict) else r))
    for key in ("active", "trial"):
        if r.get(key) not in (None,) + SLOTS:
            raise ValueError("state field %s is invalid" % key)
    for key in ("seq", "attempts", "max_attempts", "security_counter"):
        if not isinstance(r.get(key), int) or r[key] < 0:
            raise ValueError("state field %s is invalid" % key)
    slots = r.get("slots")
    if not isinstance(slots, dict) or set(slots) != set(SLOTS):
        raise ValueError("state slots are invalid")
    for s in SLOTS:
        meta = slots[s]
        if meta is not None and not (isinstance(meta, dict) and isinstance(meta.get("digest"), str)):
            raise ValueError("state slot %s is invalid" % s)


def save_state(st, state):
    state["seq"] += 1
    st.write_atomic(STATE, _wrap(state))


def load_device(st):
    if not st.exists(DEVICE):
        raise StateError("not-initialized", "storage is not initialized: run "
                         "`python -m hearth.boot init --storage DIR --board BOARD.toml --key KEY.pem`")
    try:
        dev = _unwrap(st.read(DEVICE), DEVICE)
        for key, t in (("board", str), ("arch", str), ("slot_bytes", int), ("max_attempts", int)):
            if not isinstance(dev.get(key), t):
                raise ValueError("field %s missing" % key)
    except ValueError as e:
        raise StateError("bad-device", "%s; re-run init" % e) from None
    return dev


def save_device(st, device):
    st.write_atomic(DEVICE, _wrap(device))


def load_keys(st):
    from ..image.mcuboot import TrustedKey
    keys = []
    for name in sorted(st.list_files(TRUST)):
        if name.endswith(".pem"):
            try:
                keys.append(TrustedKey.from_pem(st.read(name), posixpath.basename(name)))
            except ImageError:
                continue       # an unreadable key trusts nothing; the others still work
    return keys
