"""A bounded queue of messages on the device storage that survives a power cut.

    telemetry/state.cbor               boot number, drop counters, budget use (State)
    telemetry/spool/BBBBBBBB-SSSSSSSS  one message each: boot number, sequence number

A message is written with write_atomic (new file, fsync, rename, fsync the
directory), so after a cut it is there whole or not at all. It leaves the
spool when the broker acknowledges it (PUBACK), or when the spool is full:
then the oldest go first, and they are counted before they are removed (the
state file records the newest dropped name), so a cut between the two
neither loses a drop from the counters nor brings the dropped message back.
An acknowledged message whose removal a cut undid is sent again: the fleet
stores a (device, boot, seq) once.
"""
import cbor2

from ..boot.storage import PowerCut

DIR = "telemetry/spool"
STATE = "telemetry/state.cbor"


def name_of(boot, seq):
    return "%s/%08d-%08d" % (DIR, boot, seq)


def key_of(name):
    """(boot, seq) of a spool file name, or None for anything else (a .tmp)."""
    base = name.rsplit("/", 1)[-1]
    parts = base.split("-")
    if len(parts) != 2 or not all(len(p) == 8 and p.isdigit() for p in parts):
        return None
    return (int(parts[0]), int(parts[1]))


class State:
    """A small dict on storage, replaced atomically; unreadable = fresh."""

    def __init__(self, st, name=STATE):
        self.st = st
        self.name = name
        self.data = {}
        self.unreadable = False

    def load(self):
        self.data = {}
        if self.st.exists(self.name):
            try:
                d = cbor2.loads(self.st.read(self.name))
                if isinstance(d, dict):
                    self.data = dict(d)
                else:
                    self.unreadable = True
            except (PowerCut, OSError):
                raise
            except Exception:
                self.unreadable = True
        return self.data

    def save(self):
        self.st.write_atomic(self.name, cbor2.dumps(self.data))


class Spool:
    def __init__(self, st, state, max_messages=512, max_bytes=256 * 1024):
        self.st = st
        self.state = state
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.entries = []           # [(key, name, size)], oldest first
        self.bytes = 0

    @property
    def dropped(self):
        return self.state.data.setdefault("dropped", {})

    def recover(self):
        """Index what a previous run left; finish its interrupted drops; clear its debris."""
        mark = tuple(self.state.data.get("drop_mark") or (-1, -1))
        entries = []
        for name in sorted(self.st.list_files(DIR)):
            key = key_of(name)
            if key is None or key <= mark:
                self.st.remove(name)        # a .tmp a cut left, or a drop the counters already hold
                continue
            entries.append((key, name, self.st.size(name)))
        self.entries = entries
        self.bytes = sum(e[2] for e in entries)
        return len(entries)

    def __len__(self):
        return len(self.entries)

    def append(self, key, data):
        """Spool one message; the oldest make room (counted as dropped 'full')."""
        if len(data) > self.max_bytes:
            self._count("too_big", 1)
            self.state.save()
            return False
        victims = 0
        size = self.bytes + len(data)
        while victims < len(self.entries) and (len(self.entries) - victims + 1 > self.max_messages
                                                or size > self.max_bytes):
            size -= self.entries[victims][2]
            victims += 1
        if victims:
            gone = self.entries[:victims]
            self._count("full", victims)
            self.state.data["drop_mark"] = list(gone[-1][0])
            self.state.save()               # counted first: a cut now finishes the drop at recover()
            del self.entries[:victims]
            self.bytes -= sum(e[2] for e in gone)
            for e in gone:
                self.st.remove(e[1])
        name = name_of(*key)
        self.st.write_atomic(name, data)
        self.entries.append((tuple(key), name, len(data)))
        self.bytes += len(data)
        return True

    def read(self, entry):
        return self.st.read(entry[1])

    def ack(self, key):
        """The broker has it: forget it (no directory fsync: a resurrected one is resent)."""
        for i, e in enumerate(self.entries):
            if e[0] == key:
                del self.entries[i]
                self.bytes -= e[2]
                self.st.remove(e[1])
                return True
        return False                        # already dropped for room

    def _count(self, why, n):
        d = self.dropped
        d[why] = d.get(why, 0) + n
