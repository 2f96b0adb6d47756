"""I/O errors other than "not found" at every storage operation of a boot and
an install, the way tests/test_powercut.py cuts power at each one.

The counting storage layer (hearth.boot.storage) makes operation number k of
a kind (read, list, create, truncate, write, fsync, rename, remove,
fsync_dir) raise OSError(errno) instead of happening. For each errno (EIO,
EISDIR, EACCES, ENOSPC), each kind and each position a clean boot reaches:
  * boot never raises,
  * with another valid slot it boots a valid slot, whose run directory holds
    exactly its bundle; with none it enters recovery with a reason naming
    the error,
  * the next boot, without the fault, boots normally and the stored security
    counter never went down.
Failing one file for good (a bad slot file, a full run directory, an
unreadable state or device record) picks the other valid slot, else recovery.
An install failing with ENOSPC at any of its writes is refused with one line
and leaves the device booting what it booted before.
"""
import errno
import json
import os
import subprocess
import sys

import pytest

from hearth.boot import state as S
from hearth.boot.device import load_board
from hearth.boot.launcher import Launcher, init
from simdisk import SimStorage
from hearth.boot.state import StateError
from hearth.boot.storage import DirStorage
from hearth_tools.testing import testkit

ERRNOS = (errno.EIO, errno.EISDIR, errno.EACCES, errno.ENOSPC)
# (truncate: nothing a boot or an install writes exists beforehand)
KINDS = ("read", "list", "create", "write", "fsync", "rename", "remove", "fsync_dir")
VERSIONS = ("1.0.0", "1.1.0", "1.2.0")
TALLY = {}


class Env:
    pass


def without_run_dirs(files):
    return {n: d for n, d in files.items() if not n.startswith(S.RUN + "/")}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("ioerrors")
    e = Env()
    e.key = testkit.keygen(str(d / "key.pem"))
    e.board_path = testkit.write_board(str(d), slot_bytes=64 * 1024)
    board = load_board(e.board_path)
    # one security counter for all: either confirmed slot is a valid fallback
    e.v1 = testkit.small_image(e.key, e.board_path, "1.0.0", 1)
    e.v2 = testkit.small_image(e.key, e.board_path, "1.1.0", 1, files={
        "app.py": testkit.APP + b"# v2\n", "pkg/__init__.py": b"", "pkg/data.bin": bytes(range(200)) * 9})
    e.v3 = testkit.small_image(e.key, e.board_path, "1.2.0", 1)
    st = SimStorage()
    init(st, board, [("key.pem", open(e.key, "rb").read())], max_attempts=3)
    L = Launcher(st)
    L.install(e.v1)
    L.materialize(L.select())
    L.confirm()
    e.bases = {"one": without_run_dirs(st.snapshot())}          # a = 1.0.0 confirmed, b empty
    L.install(e.v2)
    e.bases["trial"] = without_run_dirs(st.snapshot())          # + b = 1.1.0 pending trial
    L.materialize(L.select())
    L.confirm()
    e.bases["two"] = without_run_dirs(st.snapshot())            # a 1.0.0, b 1.1.0 active, both confirmed
    e.run_dirs = st.snapshot()                                  # "two" with b extracted
    # "two" with b extracted plus a planted file there and a stale run directory
    stale = dict(e.run_dirs)
    for n, b in e.run_dirs.items():
        if n.startswith(S.RUN + "/"):
            stale[S.RUN + "/0000000000000000/" + n.split("/", 3)[3]] = b
            stale[n.rsplit("/", 1)[0] + "/sitecustomize.py"] = b"raise SystemExit('planted')\n"
    e.bases["stale"] = stale
    return e


def boot(L):
    """What `python -m hearth.boot boot` does before it runs the image."""
    return L.boot()


def check_run_dir(st, d):
    """The run directory holds exactly the bundle's files, byte for byte."""
    v = d.verified
    payload = v.data[v.img.payload_offset:v.img.payload_offset + v.img.payload_size]
    want = {e.path: payload[e.offset:e.offset + e.size] for e in v.entries if e.kind == "file"}
    prefix = d.run_dir + "/"
    got = {n[len(prefix):]: st.read(n) for n in st.list_files(d.run_dir)}
    assert got == want


def check_boot(st, d, allow_recovery, err):
    st.faults = []
    if d.recovery:
        assert allow_recovery, d.reasons
        assert any(os.strerror(err) in r for r in d.reasons), d.reasons
        return
    assert d.verified.version in VERSIONS and d.run_dir
    check_run_dir(st, d)


def count_kinds(files, run):
    st = SimStorage(files)
    run(Launcher(st))
    return dict(st.kind_counts)


@pytest.mark.parametrize("err", ERRNOS, ids=errno.errorcode.get)
@pytest.mark.parametrize("kind", KINDS)
def test_fault_at_each_operation_of_a_boot(env, kind, err):
    cases = 0
    for base, allow_recovery in (("two", False), ("trial", False), ("one", True), ("stale", False)):
        files = env.bases[base]
        counter_before = S.load_state(SimStorage(files))[0]["security_counter"]
        for pos in range(count_kinds(files, boot).get(kind, 0)):
            st = SimStorage(files)
            st.fail(kind, pos, err)
            d = boot(Launcher(st))                       # never raises
            assert st.kind_counts[kind] > pos            # the fault was reached
            check_boot(st, d, allow_recovery, err)
            again = boot(Launcher(st))                   # the fault is gone: a normal boot
            check_boot(st, again, False, err)
            assert S.load_state(st)[0]["security_counter"] >= counter_before
            cases += 1
    assert cases > 0
    TALLY[(kind, err)] = cases


def test_every_kind_is_exercised(env):
    # the parametrized test is not vacuous: a boot reaches every kind but rename
    # and remove (which only install and stale run directories use)
    counts = count_kinds(env.bases["trial"], boot)
    assert {k for k in KINDS if counts.get(k)} >= {"read", "list", "create", "write", "fsync", "fsync_dir",
                                                   "rename"}
    stale = dict(env.run_dirs)
    stale.update({n.replace("/run/", "/run/0000000000000000/"): b for n, b in env.run_dirs.items()
                  if n.startswith(S.RUN + "/")})
    assert count_kinds(stale, boot).get("remove")                        # old run dirs pruned
    assert count_kinds(env.run_dirs, boot).get("truncate") is None       # kept cache: nothing rewritten
    digest = S.load_state(SimStorage(env.run_dirs))[0]["slots"]["b"]["digest"]      # the active slot
    replanted = dict(env.run_dirs)
    replanted["%s/%s/app.py" % (S.RUN, digest[:16])] = b"print('changed')\n"
    assert count_kinds(replanted, boot).get("create")                    # rebuilt


@pytest.mark.parametrize("err", ERRNOS, ids=errno.errorcode.get)
def test_unreadable_active_slot_boots_the_other(env, err):
    st = SimStorage(env.bases["two"])
    st.fail("read", None, err, name=S.slot_file("b"))
    d = boot(Launcher(st))
    assert (d.slot, d.verified.version) == ("a", "1.0.0"), d.describe()
    assert any(os.strerror(err) in r for r in d.reasons)
    check_run_dir(st, d)


@pytest.mark.parametrize("err", ERRNOS, ids=errno.errorcode.get)
def test_unreadable_trial_slot_reverts(env, err):
    st = SimStorage(env.bases["trial"])
    st.fail("read", None, err, name=S.slot_file("b"))
    d = boot(Launcher(st))
    assert (d.slot, d.trial, d.verified.version) == ("a", False, "1.0.0"), d.describe()
    check_run_dir(st, d)


@pytest.mark.parametrize("kind", ("create", "write", "list"))
@pytest.mark.parametrize("err", (errno.ENOSPC, errno.EIO, errno.EACCES))
def test_run_dir_that_cannot_be_extracted_boots_the_other(env, kind, err):
    digest = S.load_state(SimStorage(env.bases["two"]))[0]["slots"]["b"]["digest"]
    st = SimStorage(env.bases["two"])
    st.fail(kind, None, err, name="%s/%s" % (S.RUN, digest[:16]))
    d = boot(Launcher(st))
    assert (d.slot, d.verified.version) == ("a", "1.0.0"), d.describe()
    assert any("cannot extract" in r and os.strerror(err) in r for r in d.reasons), d.reasons
    check_run_dir(st, d)
    assert S.load_state(st)[0]["active"] == "b"      # not recorded: the next boot tries b again


@pytest.mark.parametrize("err", ERRNOS, ids=errno.errorcode.get)
def test_only_slot_unreadable_enters_recovery_with_the_reason(env, err):
    st = SimStorage(env.bases["one"])
    st.fail("read", None, err, name=S.slot_file("a"))
    d = boot(Launcher(st))
    assert d.recovery and any(os.strerror(err) in r for r in d.reasons), d.reasons


@pytest.mark.parametrize("err", ERRNOS, ids=errno.errorcode.get)
def test_unreadable_state_record_boots_from_the_slots(env, err):
    st = SimStorage(env.bases["two"])
    st.fail("read", None, err, name=S.STATE)
    d = boot(Launcher(st))
    assert not d.recovery and d.verified.version in VERSIONS, d.describe()
    check_run_dir(st, d)


@pytest.mark.parametrize("name", S.STATE_COPIES + (S.CONFIRMED,))
@pytest.mark.parametrize("err", ERRNOS, ids=errno.errorcode.get)
def test_any_one_unreadable_state_file_loses_nothing(env, err, name):
    """Each of the three state files may fail for good: the other two carry
    the state, the confirmed image boots, nothing is refused."""
    st = SimStorage(env.bases["two"])
    L = Launcher(st)
    before = L.status()
    st.fail("read", None, err, name=name)
    L = Launcher(st)
    d = boot(L)
    assert not d.recovery and not d.trial, d.describe()
    assert d.verified.version == before["version"]
    check_run_dir(st, d)
    after = L.status()
    assert after["security_counter"] == before["security_counter"]
    assert after["version"] == before["version"]


@pytest.mark.parametrize("err", ERRNOS, ids=errno.errorcode.get)
def test_unreadable_device_record_enters_recovery(env, err):
    st = SimStorage(env.bases["two"])
    st.fail("read", None, err, name=S.DEVICE)
    d = boot(Launcher(st))
    assert d.recovery and any(os.strerror(err) in r for r in d.reasons), d.reasons


@pytest.mark.parametrize("kind", ("create", "write", "fsync", "rename", "fsync_dir"))
def test_install_on_a_full_disk_is_refused_and_the_device_still_boots(env, kind):
    def install(L):
        L.install(env.v3, chunk=4096)
    files = env.run_dirs
    n = count_kinds(files, install).get(kind, 0)
    assert n or kind == "truncate"
    for pos in range(n):
        st = SimStorage(files)
        st.fail(kind, pos, errno.ENOSPC)
        with pytest.raises(StateError) as info:
            install(Launcher(st))
        assert info.value.code == "io-error" and os.strerror(errno.ENOSPC) in str(info.value)
        assert "\n" not in str(info.value)
        assert not st.exists(S.INCOMING)             # the partial image does not keep the space
        d = boot(Launcher(st))
        assert not d.recovery and d.verified.version in VERSIONS, d.describe()
        check_run_dir(st, d)
        if (d.verified.version, d.trial) != ("1.2.0", True):     # (a failed last fsync_dir: recorded)
            assert d.verified.version == "1.1.0" and not d.trial  # what ran before
            Launcher(st).install(env.v3, chunk=4096)              # with space again the install completes
            d = boot(Launcher(st))
            assert (d.verified.version, d.trial) == ("1.2.0", True)


# -- the command line, on a real directory -------------------------------------
def cli(storage, *args):
    r = subprocess.run([sys.executable, "-m", "hearth.boot"] + list(args[:1]) + ["--storage", str(storage)]
                       + list(args[1:]), capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def test_cli_boot_with_a_slot_that_is_a_directory(env, tmp_path):
    storage = tmp_path / "st"
    assert cli(storage, "init", "--board", env.board_path, "--key", env.key)[0] == 0
    for image in (env.v1, env.v2):
        path = tmp_path / "img"
        path.write_bytes(image)
        assert cli(storage, "install", str(path))[0] == 0
        assert not Launcher(DirStorage(str(storage))).boot().recovery   # the trial boot, counted
        assert cli(storage, "confirm")[0] == 0
    slot_b = storage / S.slot_file("b")
    slot_b.unlink()
    slot_b.mkdir()                                   # EISDIR on the active slot
    rc, out, err = cli(storage, "boot", "--no-run", "--json")
    assert rc == 0 and "Traceback" not in err, err
    d = json.loads(out)
    assert (d["slot"], d["version"]) == ("a", "1.0.0")
    assert any(os.strerror(errno.EISDIR) in r for r in d["reasons"]), d
    (storage / S.slot_file("a")).unlink()
    (storage / S.slot_file("a")).mkdir()
    rc, out, err = cli(storage, "boot", "--no-run", "--no-recovery", "--json")
    assert rc == 3 and "Traceback" not in err, err
    assert json.loads(out)["recovery"]
    state = storage / S.STATE
    state.unlink()
    state.mkdir()                                    # the state record unreadable too
    rc, out, err = cli(storage, "boot", "--no-run", "--no-recovery", "--json")
    assert rc == 3 and "Traceback" not in err, err
