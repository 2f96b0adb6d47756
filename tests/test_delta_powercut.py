"""Power cut at every storage operation of a delta install, and of its resume.

The install is counted on the simulated disk (hearth.boot.simdisk), then for
every operation i it is replayed with power failing at i; what the crash model
keeps ("drop": nothing unsynced, "keep": everything issued, the write in
flight torn) is rebooted. Checks: the running image still boots untouched;
installing the same patch again completes with the new image as the pending
trial; once a segment was recorded, the resume starts past byte 0. Then for a
spread of first cuts, the resume itself is cut at each of its operations and
resumed once more.
"""
import io

import pytest

from hearth.boot import state as S
from hearth.boot.launcher import DELTA_DIR, Launcher, init
from simdisk import SimStorage
from hearth.boot.storage import PowerCut
from hearth.boot.device import load_board
from hearth_tools import delta
from hearth_tools.testing import delta_pairs as testpairs
from hearth_tools.testing import testkit

MODES = ("drop", "keep")
PROGRESS = DELTA_DIR + "/progress.json"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("delta-powercut")
    key = testkit.keygen(str(d / "key.pem"))
    board = load_board(testkit.write_board(str(d), slot_bytes=64 * 1024))
    v1, v2 = testpairs.small_pair(key, str(d / "testboard-host.toml"))
    st = SimStorage()
    init(st, board, [("key.pem", open(key, "rb").read())])
    L = Launcher(st)
    L.install(v1)
    L.materialize(L.select())
    L.confirm()
    e = {"v1": v1, "v2": v2, "base": st.crash("keep").snapshot(),
         "patch": delta.create(v1, v2, segment_size=1024)}
    # the uncut install, traced: how many operations, where progress is first recorded
    st = SimStorage(e["base"])
    st.trace = []
    Launcher(st).install_delta(io.BytesIO(e["patch"]))
    e["ops"] = st.op_count
    e["first_record"] = min(i for i, (k, name, _n) in enumerate(st.trace) if k == "rename" and name == PROGRESS)
    e["discard"] = min(i for i, (k, name, _n) in enumerate(st.trace) if k == "remove" and name == PROGRESS)
    return e


def cut_run(files, at, patch):
    """install_delta on `files` with power failing at operation `at`: the storage."""
    st = SimStorage(files)
    st.cut_at = at
    try:
        Launcher(st).install_delta(io.BytesIO(patch))
    except PowerCut:
        return st, True
    return st, False


def check_reboot(env, st):
    """After a cut: slot a still holds 1.0.0 and boots; the same patch then installs."""
    assert st.read(S.slot_file("a")) == env["v1"]
    d = Launcher(st).select(dry_run=True)
    assert not d.recovery and d.slot in ("a", "b")
    if d.slot == "b":                      # the cut came after install() committed the trial
        assert st.read(S.slot_file("b")) == env["v2"]
    r = Launcher(st).install_delta(io.BytesIO(env["patch"]))
    assert st.read(S.slot_file("b")) == env["v2"] and st.read(S.slot_file("a")) == env["v1"]
    state = S.load_state(st)[0]
    assert state["trial"] == "b" and state["active"] == "a" and not st.list_files(DELTA_DIR)
    return r


def test_the_patch_has_many_segments(env):
    from hearth import delta as D
    assert D.read_header(io.BytesIO(env["patch"])).segments >= 5
    assert env["first_record"] < env["discard"] < env["ops"]


@pytest.mark.parametrize("mode", MODES)
def test_cut_at_every_operation_then_resume(env, mode):
    resumed = failures = 0
    for i in range(env["ops"]):
        st, cut = cut_run(env["base"], i, env["patch"])
        assert cut, "operation %d was counted but not reached" % i
        crashed = st.crash(mode)
        try:
            r = check_reboot(env, crashed)
        except AssertionError:
            failures += 1
            raise
        if env["first_record"] + 2 <= i <= env["discard"]:
            # the first record's rename and its directory fsync happened: never from byte 0
            assert r["delta"]["resumed_from"] > 0, "cut at %d (%s) restarted from byte 0" % (i, mode)
            resumed += 1
    assert failures == 0 and resumed > 0
    print("delta powercut (%s): %d cuts, %d resumed past byte 0, 0 failures" % (mode, env["ops"], resumed))


def test_cut_during_the_resume_too(env):
    firsts = list(range(env["first_record"] + 1, env["discard"], max(1, env["ops"] // 8)))
    runs = 0
    for i in firsts:
        for mode in MODES:
            after_first = SimStorage(cut_run(env["base"], i, env["patch"])[0].crash(mode).snapshot())
            probe = SimStorage(after_first.snapshot())
            Launcher(probe).install_delta(io.BytesIO(env["patch"]))
            for j in range(probe.op_count):
                st, cut = cut_run(after_first.snapshot(), j, env["patch"])
                assert cut
                check_reboot(env, st.crash(mode))
                runs += 1
    assert runs > 0
    print("delta powercut, cut during the resume: %d runs, 0 failures" % runs)


def test_progress_of_another_patch_is_not_reused(env):
    """A cut-off install of one patch, then another patch for the same base: the
    second must not build on the first one's segments."""
    from hearth import delta as D
    other_new = bytearray(env["v2"])
    st, cut = cut_run(env["base"], env["discard"] - 1, env["patch"])
    assert cut
    st = st.crash("keep")
    assert st.exists(PROGRESS)
    # a second patch to a different result (the same image, re-made with another segment size)
    other = delta.create(env["v1"], bytes(other_new), segment_size=4096)
    assert D.header_id(D.read_header(io.BytesIO(other))) != D.header_id(D.read_header(io.BytesIO(env["patch"])))
    r = Launcher(st).install_delta(io.BytesIO(other))
    assert r["delta"]["resumed_from"] == 0
    assert st.read(S.slot_file("b")) == env["v2"]
