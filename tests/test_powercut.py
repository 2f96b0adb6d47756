"""Power cut at every storage operation of an update, like MCUboot's simulator.

For each sequence (clean update, revert by unconfirmed boots, revert by
command, first install from recovery) we count its storage operations on a
simulated disk, then for every operation i: replay the sequence with power
failing at i, keep what the crash model says survives (hearth.boot.simdisk:
"drop" loses everything unsynced, "keep" keeps everything issued and tears the
write in flight), reboot, and check:
  * a valid image boots, the one the state record says (or recovery, only
    when no image was ever confirmed),
  * identity, config and telemetry files are byte-for-byte intact,
  * the stored security counter never went down,
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
    msg = ("powercut: %d cut points exercised (%s), every one rebooted to a valid image"
           % (total, ", ".join("%s %d" % kv for kv in sorted(TALLY.items()))))
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


# -- checks ---------------------------------------------------------------
def check_files(st):
    for name, data in PROTECTED.items():
        assert st.read(name) == data, "%s changed" % name


def check_run_dir(st, d):
    v = d.verified
    payload = v.data[v.img.payload_offset:v.img.payload_offset + v.img.payload_size]
    for ent in v.entries:
        assert st.read("%s/%s" % (d.run_dir, ent.path)) == payload[ent.offset:ent.offset + ent.size]


def reboot(st, min_counter, allow_recovery=False):
    """Boot after a cut; returns the Launcher. Asserts the boot invariants."""
    before, note = S.load_state(st)
    assert note in (None, "fresh"), note            # a cut never corrupts the record
    L = Launcher(st)
    d = L.select()
    check_files(st)
    after, _ = S.load_state(st)
    assert after["security_counter"] >= max(min_counter, before["security_counter"])
    if d.recovery:
        assert allow_recovery and before["active"] is None, d.reasons
        return L
    assert d.verified.version in ("1.0.0", "1.1.0")
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
    st = SimStorage(files)
    seq(e, Launcher(st))
    return st.op_count


def cut_at(files, seq, e, i, mode, rng=None):
    st = SimStorage(files)
    st.cut_at = i
    with pytest.raises(PowerCut):
        seq(e, Launcher(st))
    return st.crash(mode, rng)


# -- tests ----------------------------------------------------------------
def test_cut_at_every_operation_of_an_update(env):
    n = count_ops(env.base, seq_update, env)
    assert n > 20
    for i in range(n):
        for mode in MODES:
            st = cut_at(env.base, seq_update, env, i, mode)
            L = reboot(st, min_counter=1)
            finish(L, env.v2, "1.1.0", 2)
    TALLY["update"] = n * len(MODES)


def test_cut_at_every_operation_of_a_revert_by_boot_count(env):
    n = count_ops(env.base, seq_revert_by_boots, env)
    for i in range(n):
        for mode in MODES:
            st = cut_at(env.base, seq_revert_by_boots, env, i, mode)
            L = reboot(st, min_counter=1)
            for _ in range(L.device["max_attempts"] + 1):     # keep failing the health check
                d = L.select()
                assert not d.recovery
            s = L.status()
            assert (s["version"], s["trial"], s["security_counter"]) == ("1.0.0", False, 1)
            finish(L, env.v2, "1.1.0", 2)                        # and the update still works
    TALLY["revert-by-boots"] = n * len(MODES)


def test_cut_at_every_operation_of_a_revert_command(env):
    n = count_ops(env.base, seq_revert_command, env)
    for i in range(n):
        for mode in MODES:
            st = cut_at(env.base, seq_revert_command, env, i, mode)
            L = reboot(st, min_counter=1)
            finish(L, env.v2, "1.1.0", 2)
    TALLY["revert-command"] = n * len(MODES)


def test_cut_at_every_operation_of_a_first_install(env):
    n = count_ops(env.fresh, seq_first_install, env)
    for i in range(n):
        for mode in MODES:
            st = cut_at(env.fresh, seq_first_install, env, i, mode)
            L = reboot(st, min_counter=0, allow_recovery=True)
            finish(L, env.v1, "1.0.0", 1)
    TALLY["first-install"] = n * len(MODES)


def test_random_multiple_cuts_during_one_update(env):
    cuts = 0
    for seed in range(30):
        rng = random.Random(seed)
        st = SimStorage(env.base)
        for _attempt in range(rng.randint(2, 6)):
            st.cut_at = rng.randint(0, 45)
            try:
                L = reboot(st, min_counter=1)
                finish(L, env.v2, "1.1.0", 2)
            except PowerCut:
                cuts += 1
                st = st.crash("random", rng)
                continue
            break
        st.cut_at = None
        L = reboot(st, min_counter=1)
        finish(L, env.v2, "1.1.0", 2)
    assert cuts > 30
    TALLY["random"] = cuts


def test_completed_operations_are_durable(env):
    # once install/boot/confirm/revert returned, a cut loses none of it
    # (a lost confirm would revert a healthy image; a lost counter re-opens rollback)
    st = SimStorage(env.base)
    L = Launcher(st)
    steps = [lambda: L.install(env.v2, chunk=CHUNK), lambda: L.materialize(L.select()), L.confirm,
             lambda: L.materialize(L.select()), L.revert]
    for step in steps:
        try:
            step()
        except S.StateError as e:
            assert e.code == "revert-refused"        # 1.0.0 is below the counter now
        live = S.load_state(st)[0]
        for mode in ("drop", "random"):
            assert S.load_state(st.crash(mode, random.Random(1)))[0] == live
    assert live["security_counter"] == 2 and live["last_event"]["event"] == "confirm"


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
