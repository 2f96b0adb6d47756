"""The telemetry spool under a power cut at every storage operation.

A sequence of appends (the spool overflows, so the oldest are dropped),
acknowledgements and a recovery is counted on a simulated disk
(tests/simdisk.py); then for every operation i it is replayed with the
power failing at i, the disk keeps what the crash mode says survives
("drop": nothing unsynced, "keep": everything issued with the write in
flight torn, "random": a random prefix, seeded), and the next boot's
recover() must show:
  * every message whose append returned, and that was neither acknowledged
    nor dropped for room, is in the spool with its exact bytes,
  * the 'full' drop counter equals the number of such messages that are
    gone (oldest first), so no message is lost without being counted and
    none is counted that is not gone,
  * no file in the spool is torn or foreign, and the spool accepts more.
"""
import random

import cbor2
import pytest

from hearth.boot.storage import PowerCut
from hearth.telemetry.spool import DIR, Spool, State
from simdisk import SimStorage

MAX = 5
N = 16


def payload(i):
    return cbor2.dumps({"seq": i, "pad": "x" * (i % 7)})


def sequence(st, log):
    """Boot, then 16 appends into a 5-message spool with an ack after every third."""
    state = State(st)
    state.load()
    state.data["boot"] = state.data.get("boot", 0) + 1
    state.save()
    sp = Spool(st, state, max_messages=MAX, max_bytes=1 << 20)
    sp.recover()
    for i in range(N):
        log["attempt"] = (1, i)
        sp.append((1, i), payload(i))
        log["returned"].append((1, i))
        if i % 3 == 2:
            key = sp.entries[0][0]
            log["acking"] = key
            sp.ack(key)
            log["acked"].append(key)
            log["acking"] = None
    return sp


def fresh_log():
    return {"returned": [], "acked": [], "acking": None, "attempt": None}


def check(st, log):
    state = State(st)
    state.load()
    sp = Spool(st, state, max_messages=MAX, max_bytes=1 << 20)
    sp.recover()
    present = dict((e[0], sp.read(e)) for e in sp.entries)
    for key, data in present.items():
        assert data == payload(key[1]), "spool file %s torn or wrong" % (key,)
        assert key in log["returned"] or key == log["attempt"], "spool holds a message never written"
    assert sorted(st.list_files(DIR)) == sorted(e[1] for e in sp.entries), "debris left in the spool"
    mark = tuple(state.data.get("drop_mark") or (-1, -1))
    settled = set(log["acked"]) | ({log["acking"]} if log["acking"] else set())
    lost = [k for k in log["returned"] if k not in settled and k not in present]
    assert all(k <= mark for k in lost), "messages %s gone without a drop" % [k for k in lost if k > mark]
    dropped = state.data.get("dropped", {}).get("full", 0)
    assert dropped == len(lost), "drop counter %d, but %d messages are gone" % (dropped, len(lost))
    assert len(sp) <= MAX
    sp.append((2, 0), payload(0))           # the next boot goes on spooling
    assert sp.entries[-1][0] == (2, 0)


def count_ops():
    st = SimStorage()
    log = fresh_log()
    sequence(st, log)
    assert st.op_count > 50
    assert log["returned"] == [(1, i) for i in range(N)]
    return st.op_count


OPS = count_ops()


@pytest.mark.parametrize("mode", ["drop", "keep", "random"])
def test_power_cut_at_every_operation(mode):
    rng = random.Random(14)
    for cut in range(OPS + 1):
        st = SimStorage()
        st.cut_at = cut
        log = fresh_log()
        try:
            sequence(st, log)
        except PowerCut:
            pass
        after = st.crash(mode, rng=rng)
        try:
            check(after, log)
        except AssertionError as e:
            raise AssertionError("cut at operation %d of %d, crash mode %s (seed 14): %s"
                                 % (cut, OPS, mode, e)) from None


def test_oldest_dropped_first_and_counted():
    st = SimStorage()
    state = State(st)
    sp = Spool(st, state, max_messages=3, max_bytes=1 << 20)
    for i in range(7):
        sp.append((1, i), payload(i))
    assert [e[0] for e in sp.entries] == [(1, 4), (1, 5), (1, 6)]
    assert state.data["dropped"]["full"] == 4
    # by bytes too: a message larger than the spool is refused and counted, not stored
    small = Spool(st, state, max_messages=100, max_bytes=64)
    small.recover()
    assert not small.append((1, 9), b"z" * 65)
    assert state.data["dropped"]["too_big"] == 1


def test_unreadable_state_starts_fresh():
    st = SimStorage({"telemetry/state.cbor": b"\xff\x00garbage"})
    state = State(st)
    assert state.load() == {} and state.unreadable
