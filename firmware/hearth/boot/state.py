"""The launcher's records in storage, and how they are written.

    boot/device.json       written once by `init`: board, arch, slot size, trial boots
    boot/trust/*.pem       public keys images must be signed with
    boot/state.json        the state record, copy 1  } rewritten at every state
    boot/state.copy.json   the state record, copy 2  } change, one copy after the other
    boot/confirmed.json    the confirm record: security counter floor and the confirmed image
    boot/slot-a.img        slot A: one signed MCUboot image
    boot/slot-b.img        slot B
    boot/incoming.img      an image being received (never booted from)
    boot/run/<digest>/     the bundle of a slot, extracted (a cache, rebuilt from the slot)

Each record is JSON wrapped with its own sha256 and written with
Storage.write_atomic (write-new, fsync, rename, fsync dir), so after any
power cut a file is either its old or its new version, never a mix.

The state record is kept twice, like MCUboot keeps image trailers: each copy
carries a sequence number, the valid copy with the highest one wins, and a
save writes the new record first over the copy NOT holding the newest record,
then over the other. So at every instant one copy holds either the record the
device last acted on or its successor, and losing any one file (bit rot, a
torn write, a deletion) loses nothing. Before both copies the confirm record
is rewritten when what it mirrors changed (the counter, the active confirmed
image), so it never lags behind them: when both copies are lost it still says
which image was confirmed and what the counter floor is (see
Launcher._rebuild). A device written before the second copy existed has
state.json alone; it reads as one lost copy and is repaired at its next save.
"""
import hashlib
import json
import posixpath

from ..image.errors import ImageError

BOOT = "boot"
STATE = "boot/state.json"
STATE_COPY = "boot/state.copy.json"
STATE_COPIES = (STATE, STATE_COPY)
CONFIRMED = "boot/confirmed.json"
DEVICE = "boot/device.json"
TRUST = "boot/trust"
INCOMING = "boot/incoming.img"
RUN = "boot/run"
SLOTS = ("a", "b")
FORMAT = 1
DEFAULT_MAX_ATTEMPTS = 3
MAX_ATTEMPTS_LIMIT = 255


class StateError(Exception):
    """A launcher operation was refused (one line, says what to do)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code

    def __str__(self):
        return "%s: %s" % (self.code, self.args[0])


def check_max_attempts(n, fix="give --max-attempts 1..%d" % MAX_ATTEMPTS_LIMIT):
    """n if it is a usable number of trial boots, else StateError saying `fix`."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_ATTEMPTS_LIMIT:
        raise StateError("bad-max-attempts", "max attempts must be a whole number from 1 to %d, not %r: %s"
                         % (MAX_ATTEMPTS_LIMIT, n, fix))
    return n


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
    except RecursionError:          # json.loads recurses per nesting level
        raise ValueError("%s is corrupt: nested too deeply" % what) from None
    return record


class Loaded:
    """Both copies of the state record as read."""

    def __init__(self, state, problems, fresh):
        self.state = state            # the newest valid record, or None when no copy is valid
        self.problems = problems      # why a copy is not the newest valid record
        self.fresh = fresh            # no copy exists: nothing was ever installed (or all is lost)

    @property
    def note(self):
        if self.fresh:
            return "fresh"
        return "; ".join(self.problems) or None


def _read_copy(st, name):
    """(record, None) or (None, why it is unusable)."""
    if not st.exists(name):
        return None, "%s is missing" % name
    try:
        record = _unwrap(st.read(name), name)
        _validate(record)
    except ValueError as e:
        msg = str(e)
        return None, msg if msg.startswith(name) else "%s: %s" % (name, msg)
    except OSError as e:            # EIO, EISDIR, EACCES: the other copy (or a rebuild) serves
        return None, "%s cannot be read: %s" % (name, e.strerror or e)
    return record, None


def read_state(st):
    copies = [_read_copy(st, name) for name in STATE_COPIES]
    if not any(st.exists(name) for name in STATE_COPIES):
        return Loaded(None, [], fresh=True)
    problems = [why for _rec, why in copies if why]
    valid = [(rec["seq"], -i, rec) for i, (rec, _why) in enumerate(copies) if rec is not None]
    if not valid:
        return Loaded(None, problems, fresh=False)
    best = max(valid, key=lambda t: t[:2])[2]
    for name, (rec, _why) in zip(STATE_COPIES, copies):
        if rec is not None and rec != best:
            problems.append("%s is stale (seq %d, the other copy has %d)" % (name, rec["seq"], best["seq"]))
    return Loaded(best, problems, fresh=False)


def load_state(st):
    """(state, note). note is None, "fresh" (no record yet), or what is wrong
    with a copy; when no copy is valid, state is a new record (the launcher
    rebuilds it, see Launcher._rebuild)."""
    got = read_state(st)
    return (got.state if got.state is not None else new_state()), got.note


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
        if meta is None:
            continue
        if not (isinstance(meta, dict) and isinstance(meta.get("digest"), str) and isinstance(meta.get("version"), str)
                and isinstance(meta.get("security_counter"), int) and isinstance(meta.get("confirmed"), bool)):
            raise ValueError("state slot %s is invalid" % s)
    for key in ("active", "trial"):
        if r[key] is not None and slots[r[key]] is None:
            raise ValueError("state field %s names empty slot %s" % (key, r[key]))


def save_state(st, state):
    """Write the next record to both copies: first over the one not holding
    the newest record (alternating when they agree), then over the other.
    The confirm record goes first when what it mirrors changed."""
    copies = [_read_copy(st, name)[0] for name in STATE_COPIES]
    newest = max([state["seq"]] + [rec["seq"] for rec in copies if rec is not None])
    state["seq"] = newest + 1
    holds = [rec is not None and rec["seq"] == newest for rec in copies]
    if holds[0] == holds[1]:
        order = (state["seq"] % 2, 1 - state["seq"] % 2)
    else:
        order = (1, 0) if holds[0] else (0, 1)
    mirror = confirmed_record(state)
    if load_confirmed(st) != mirror:
        save_confirmed(st, mirror)
    data = _wrap(state)
    for i in order:
        st.write_atomic(STATE_COPIES[i], data)


def confirmed_record(state):
    """What the confirm record must say for this state record."""
    a = state["active"]
    meta = state["slots"][a] if a is not None else None
    if meta is None or not meta.get("confirmed"):
        meta = {}
    return {"format": FORMAT, "security_counter": state["security_counter"], "slot": a if meta else None,
            "digest": meta.get("digest"), "version": meta.get("version")}


def save_confirmed(st, record):
    st.write_atomic(CONFIRMED, _wrap(record))


def load_confirmed(st):
    """The confirm record, or None when it is missing or unreadable."""
    if not st.exists(CONFIRMED):
        return None
    try:
        rec = _unwrap(st.read(CONFIRMED), CONFIRMED)
    except (ValueError, OSError):   # corrupt or unreadable (EIO, EACCES, EISDIR): as if lost
        return None
    if not (isinstance(rec, dict) and rec.get("format") == FORMAT and isinstance(rec.get("security_counter"), int)
            and not isinstance(rec["security_counter"], bool) and rec["security_counter"] >= 0
            and (rec.get("digest") is None or isinstance(rec.get("digest"), str))):
        return None
    return rec


def load_device(st):
    if not st.exists(DEVICE):
        raise StateError("not-initialized", "storage is not initialized: run "
                         "`python -m hearth.boot init --storage DIR --board BOARD.toml --key KEY.pem`")
    try:
        dev = _unwrap(st.read(DEVICE), DEVICE)
        if not isinstance(dev, dict):
            raise ValueError("%s is not a record object" % DEVICE)
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
