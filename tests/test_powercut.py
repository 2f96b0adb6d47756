"""Power cut at every storage operation of an update, like MCUboot's simulator.

For each sequence (clean update, revert by unconfirmed boots, revert by
command, first install from recovery) we count its storage operations on a
simulated disk, then for every operation i: replay the sequence with power
failing at i, keep what the crash model says survives (tests/simdisk.py:
"drop" loses everything unsynced, "keep" keeps everything issued and tears the
write in flight), then also damage each state file in turn (corrupt a byte,
truncate, delete: each state copy, the confirm record, and both copies at
once), reboot, and check:
  * a valid image boots (recovery only when no slot holds one); without
    damage it is the one the state record says,
  * no image is confirmed unless the sequence had reached its confirm (the
    health check passed), and a slot booted as confirmed is confirmed,
  * the stored security counter never went down and never rose unless the
    confirm had started,
  * identity, config and telemetry files are byte-for-byte intact,
  * the update can be repeated and completes.
Then random multi-cut runs: several cuts (during install, boot and confirm),
each crash keeping a random prefix of unsynced data per file and directory.
"""
import random

import pytest

from hearth.boot import state as S
from hearth.boot.device import load_board
from hearth.boot.launcher import Launcher, init
from simdisk import SimStorage
from hearth.boot.storage import PowerCut
from hearth.image.errors import ImageError
from hearth_tools.testing import testkit

PROTECTED = {
    "identity.json": b'{"serial": "HRTH-000042", "board": "testboard"}\n',
    "config/hearth.toml": b'[appliance]\nkind = "oven"\nvolume = 3\n',
    "telemetry/spool-000001.cbor": bytes(range(256)) * 3,
}
CHUNK = 1024          # install in 1 KiB writes so cuts land inside the image stream
MODES = ("drop", "keep")
TALLY = {}


class Env:
    pass


@pytest.fixture(scope="module")
def env(tmp_path_factory, request):
    d = tmp_path_factory.mktemp("powercut")
    e = Env()
    key = testkit.keygen(str(d / "key.pem"))
    board_path = testkit.write_board(str(d), slot_bytes=64 * 1024)
    e.board = load_board(board_path)
    e.v1 = testkit.small_image(key, board_path, "1.0.0", 1)
    e.v2 = testkit.small_image(key, board_path, "1.1.0", 2, files={
        "app.py": testkit.APP + b"# v2\n", "data/filler.bin": bytes(range(255, -1, -1)) * 12,
        "data/new.txt": b"added in 1.1.0\n"})
    with open(key, "rb") as f:
        keys = [("key.pem", f.read())]
    st = SimStorage(PROTECTED)
    init(st, e.board, keys, max_attempts=3)
    e.fresh = st.crash("keep").snapshot()
    L = Launcher(st)
    L.install(e.v1, chunk=CHUNK)
    L.materialize(L.select())
    L.confirm()
    e.base = st.crash("keep").snapshot()       # running 1.0.0, confirmed, all durable
    yield e
    total = sum(TALLY.values())
    msg = ("powercut: %d reboots after a cut checked (%s; cut point x crash mode x state-file damage, "
           "random: cuts), every invariant held" % (total, ", ".join("%s %d" % kv for kv in sorted(TALLY.items()))))
    # shown in the normal (captured) run too: the count is part of the result
    capman = request.config.pluginmanager.get_plugin("capturemanager")
    if capman is not None:
        with capman.global_and_fixture_disabled():
            print("\n" + msg)
    else:
        print(msg)


# -- sequences under test -------------------------------------------------
def seq_update(e, L):
    L.install(e.v2, chunk=CHUNK)
    L.materialize(L.select())
    L.confirm()


def seq_revert_by_boots(e, L):
    L.install(e.v2, chunk=CHUNK)
    for _ in range(L.device["max_attempts"] + 1):     # never confirmed: the last boot reverts
        L.materialize(L.select())


def seq_revert_command(e, L):
    L.install(e.v2, chunk=CHUNK)
    L.materialize(L.select())
    L.revert()
    L.materialize(L.select())


def seq_first_install(e, L):
    L.install(e.v1, chunk=CHUNK)
    L.materialize(L.select())
    L.confirm()


# -- damage to the state files after the cut ----------------------------------
STATE_FILES = S.STATE_COPIES + (S.CONFIRMED,)
DAMAGE = [None] + [((name,), how) for name in STATE_FILES for how in ("corrupt", "truncate", "delete")] \
    + [(S.STATE_COPIES, "delete")]


def damaged(st, damage):
    """A copy of st (all durable) with `damage` done to it; None when none of
    the files it names exists yet (the same as no damage)."""
    files = st.snapshot()
    if damage is not None:
        names, how = damage
        if not any(n in files for n in names):
            return None
        for name in names:
            if name not in files:
                continue
            if how == "delete":
                del files[name]
            elif how == "truncate":
                files[name] = files[name][:len(files[name]) // 2]
            else:
                raw = bytearray(files[name])
                raw[len(raw) // 2] ^= 0x01
                files[name] = bytes(raw)
    return SimStorage(files)


# -- checks ---------------------------------------------------------------
def check_files(st):
    for name, data in PROTECTED.items():
        assert st.read(name) == data, "%s changed" % name


def check_run_dir(st, d):
    v = d.verified
    payload = v.data[v.img.payload_offset:v.img.payload_offset + v.img.payload_size]
    for ent in v.entries:
        assert st.read("%s/%s" % (d.run_dir, ent.path)) == payload[ent.offset:ent.offset + ent.size]


def reboot(st, counters, confirmable, allow_recovery=False, exact=True):
    """Boot after a cut; returns the Launcher. Asserts the boot invariants.

    counters: the values the stored security counter may hold now.
    confirmable: versions that may be marked confirmed (confirmed before the
    sequence, or being confirmed when the power failed: its health check passed).
    exact: no state file was damaged, so the decision is the one the newest
    state copy says (a cut leaves a copy stale or missing, never corrupt).
    """
    before, note = S.load_state(st)
    if exact:
        assert note is None or "corrupt" not in note, note
        # the confirm record is written before the copies: its floor never lags behind them
        assert S.load_confirmed(st)["security_counter"] >= before["security_counter"]
    L = Launcher(st)
    d = L.select()
    check_files(st)
    after = L.status()
    assert after["security_counter"] in counters, (after["security_counter"], counters)
    for name, meta in after["slots"].items():
        if meta and meta["confirmed"]:
            assert meta["version"] in confirmable, ("slot %s confirmed without a health check" % name, after)
    if d.recovery:
        assert allow_recovery, d.reasons
        for s in S.SLOTS:                            # only when no slot holds a valid image
            if st.exists(S.slot_file(s)):
                with pytest.raises((ImageError, S.StateError)):
                    L.check_bytes(st.read(S.slot_file(s)), 0)
        return L
    assert d.verified.version in ("1.0.0", "1.1.0")
    assert after["slots"][d.slot]["confirmed"] is not d.trial, (d.describe(), after)
    if exact and note != "fresh":
        if before["trial"] is not None and before["attempts"] < before["max_attempts"]:
            assert (d.slot, d.trial) == (before["trial"], True)
        else:
            assert (d.slot, d.trial) == (before["active"], False), (before, d.describe())
    L.materialize(d)
    check_run_dir(st, d)
    return L


def finish(L, image, version, counter):
    """What the update agent does after a reboot: confirm a healthy trial of the
    target, or install the target again; then the device must run it."""
    s = L.status()
    if s["trial"]:
        (L.confirm if s["version"] == version else L.revert)()
    s = L.status()
    if s["version"] != version or s["trial"]:
        L.install(image, chunk=CHUNK)
        d = L.select()
        assert d.trial and d.verified.version == version
        L.materialize(d)
        L.confirm()
    s = L.status()
    assert (s["version"], s["trial"], s["pending"]) == (version, False, None)
    assert s["security_counter"] == counter
    d = L.select()
    assert (d.verified.version, d.trial) == (version, False)
    check_files(L.st)


def count_ops(files, seq, e):
    """(operations of the sequence, operation index at which its confirm starts or None)."""
    st = SimStorage(files)
    L = Launcher(st)
    marks = []
    confirm = L.confirm

    def marked_confirm():
        marks.append(st.op_count)
        return confirm()
    L.confirm = marked_confirm
    seq(e, L)
    return st.op_count, (marks[0] if marks else None)


def cut_at(files, seq, e, i, mode, rng=None):
    st = SimStorage(files)
    st.cut_at = i
    with pytest.raises(PowerCut):
        seq(e, Launcher(st))
    return st.crash(mode, rng)


def cut_everywhere(e, files, seq, before, target, after_reboot=None, allow_recovery=False):
    """Cut at every operation of seq, in every crash mode, with every damage.

    before: (versions confirmed, security counter) before the sequence;
    target: (image, version, counter) the update ends with. Returns the
    number of reboots checked.
    """
    confirmed, counter = before
    image, version, target_counter = target
    n, confirm_at = count_ops(files, seq, e)
    assert n > 20
    reboots = 0
    for i in range(n):
        confirming = confirm_at is not None and i >= confirm_at
        counters = {counter, target_counter} if confirming else {counter}
        confirmable = set(confirmed) | ({version} if confirming else set())
        for mode in MODES:
            crashed = cut_at(files, seq, e, i, mode)
            for damage in DAMAGE:
                st = damaged(crashed, damage)
                if st is None:
                    continue
                try:
                    L = reboot(st, counters, confirmable, allow_recovery, exact=damage is None)
                    if after_reboot:
                        after_reboot(L)
                    finish(L, image, version, target_counter)
                except AssertionError as err:
                    raise AssertionError("cut at %d/%d (%s), damage %s: %s" % (i, n, mode, damage, err)) from None
                reboots += 1
    return reboots


# -- tests ----------------------------------------------------------------
def test_cut_at_every_operation_of_an_update(env):
    TALLY["update"] = cut_everywhere(env, env.base, seq_update, ({"1.0.0"}, 1), (env.v2, "1.1.0", 2))


def test_cut_at_every_operation_of_a_revert_by_boot_count(env):
    def keep_failing_the_health_check(L):
        for _ in range(L.device["max_attempts"] + 1):
            assert not L.select().recovery
        s = L.status()
        assert (s["version"], s["trial"], s["security_counter"]) == ("1.0.0", False, 1)
    TALLY["revert-by-boots"] = cut_everywhere(env, env.base, seq_revert_by_boots, ({"1.0.0"}, 1),
                                              (env.v2, "1.1.0", 2), keep_failing_the_health_check)


def test_cut_at_every_operation_of_a_revert_command(env):
    TALLY["revert-command"] = cut_everywhere(env, env.base, seq_revert_command, ({"1.0.0"}, 1),
                                             (env.v2, "1.1.0", 2))


def test_cut_at_every_operation_of_a_first_install(env):
    TALLY["first-install"] = cut_everywhere(env, env.fresh, seq_first_install, (set(), 0),
                                            (env.v1, "1.0.0", 1), allow_recovery=True)


def test_random_multiple_cuts_during_one_update(env):
    cuts = 0
    anything = ({1, 2}, {"1.0.0", "1.1.0"})
    for seed in range(30):
        rng = random.Random(seed)
        st = SimStorage(env.base)
        for _attempt in range(rng.randint(2, 6)):
            st.cut_at = rng.randint(0, 70)
            try:
                L = reboot(st, *anything)
                finish(L, env.v2, "1.1.0", 2)
            except PowerCut:
                cuts += 1
                st = st.crash("random", rng)
                continue
            break
        st.cut_at = None
        L = reboot(st, *anything)
        finish(L, env.v2, "1.1.0", 2)
    assert cuts > 30
    TALLY["random"] = cuts


def completed_steps(env, L):
    """install, boot, confirm, boot, revert (refused: 1.0.0 is below the counter now)."""
    def revert():
        with pytest.raises(S.StateError) as e:
            L.revert()
        assert e.value.code == "revert-refused"
    return [lambda: L.install(env.v2, chunk=CHUNK), lambda: L.materialize(L.select()), L.confirm,
            lambda: L.materialize(L.select()), revert]


def test_completed_operations_are_durable(env):
    # once install/boot/confirm/revert returned, a cut loses none of it
    # (a lost confirm would revert a healthy image; a lost counter re-opens rollback)
    st = SimStorage(env.base)
    for step in completed_steps(env, Launcher(st)):
        step()
        live = S.load_state(st)[0]
        for mode in ("drop", "random"):
            assert S.load_state(st.crash(mode, random.Random(1)))[0] == live
    assert live["security_counter"] == 2 and live["last_event"]["event"] == "confirm"


def view(st):
    """What the next boot does and what status says, on a throwaway copy."""
    L = Launcher(damaged(st, None))
    s = L.status()
    s.pop("state_note")
    d = L.select()
    return s, (d.slot, d.trial, d.verified.version if d.verified else None)


def test_losing_any_one_state_file_after_a_completed_step_loses_nothing(env):
    st = SimStorage(env.base)
    single = [dmg for dmg in DAMAGE if dmg is not None and len(dmg[0]) == 1]
    for step in completed_steps(env, Launcher(st)):
        step()
        want = view(st)
        for dmg in single:
            assert view(damaged(st.crash("drop"), dmg)) == want, dmg


def copy_writes(trace):
    """Operation counts at which each state copy write had become durable (its rename, then boot/ fsynced)."""
    renames = {("rename", n) for n in S.STATE_COPIES}
    return [i + 2 for i in range(len(trace) - 1)
            if trace[i][:2] in renames and trace[i + 1][:2] == ("fsync_dir", S.BOOT)]


def test_a_save_rewrites_the_stale_copy_first(env):
    # A cut between the two copy writes leaves one copy stale, and the device
    # acts on the other. The next save must replace the stale copy first:
    # replacing the good one first would leave a moment where damage to it
    # loses the record the device acted on.
    st = SimStorage(env.base)
    st.trace = []
    seq_update(env, Launcher(st))
    between = copy_writes(st.trace)[0::2]               # each save writes two copies: cut between them
    assert len(between) >= 3                            # install, boot and confirm each save once
    stale_seen = set()
    for cut in between:
        start = cut_at(env.base, seq_update, env, cut, "drop")
        got = S.read_state(start)
        stale = [n for n in S.STATE_COPIES if any(p.startswith(n + " is stale") for p in got.problems)]
        assert len(stale) == 1, got.problems
        good = [n for n in S.STATE_COPIES if n not in stale][0]
        stale_seen.add(stale[0])
        acted_on = got.state["seq"]
        probe = damaged(start, None)                     # a copy: where does the next save (at boot)
        probe.trace = []                                 # make its first copy durable?
        Launcher(probe).select()
        nxt = damaged(start, None)
        nxt.cut_at = copy_writes(probe.trace)[0]
        with pytest.raises(PowerCut):
            Launcher(nxt).select()
        after = damaged(nxt.crash("drop"), ((good,), "delete"))
        assert S.load_state(after)[0]["seq"] > acted_on, "cut at %d: the stale copy %s was not written first" % (
            cut, stale[0])
    assert stale_seen == set(S.STATE_COPIES)           # both copies were the stale one once


def test_crash_model_loses_unsynced_data_and_tears_writes():
    # the simulator itself: what survives is what the docstring says
    st = SimStorage({"d/old": b"old"})
    h = st.open_write("d/new")
    st.write(h, b"synced")
    st.fsync(h)
    st.write(h, b"-cached")
    assert st.crash("drop").listdir("d") == ["old"]          # name never made durable
    st.fsync_dir("d")
    assert st.crash("drop").read("d/new") == b"synced"
    assert st.crash("keep").read("d/new") == b"synced-cached"
    st.cut_at = st.op_count
    with pytest.raises(PowerCut):
        st.write(h, b"ABCDEFGH")
    assert st.crash("keep").read("d/new") == b"synced-cachedABCD"
    assert st.crash("drop").read("d/new") == b"synced"
    st2 = SimStorage({"s": b"1"})
    st2.write_atomic("s", b"2")
    assert st2.crash("drop").read("s") == b"2"
