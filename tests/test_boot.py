"""The launcher (python -m hearth.boot) on a real storage directory: install,
trial boot, attempt counting, confirm, revert, anti-rollback, fallback,
recovery, and the health check the application confirms with."""
import json
import os
import subprocess
import sys

import pytest

from hearth.boot import state as S
from hearth.boot.device import load_board
from hearth.boot.health import HealthCheck
from hearth.boot.launcher import Launcher, init
from hearth.boot.storage import DirStorage
from hearth.image.errors import ImageError
from hearth_tools.testing import testkit


class Env:
    pass


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("boot")
    e = Env()
    e.dir = d
    e.key = testkit.keygen(str(d / "key.pem"))
    e.board_path = testkit.write_board(str(d), slot_bytes=64 * 1024)
    e.board = load_board(e.board_path)
    e.images = {}
    for name, version, sc, kw in [("v1", "1.0.0", 1, {}), ("v2", "1.1.0", 2, {}),
                                  ("v2b", "1.2.0", 2, {"rollback_target": "1.1.0"}),
                                  ("v3", "2.0.0", 3, {}), ("v0", "0.9.0", 0, {}),
                                  ("v105", "1.0.5", 2, {}), ("v109", "1.0.9", 2, {})]:
        data = testkit.small_image(e.key, e.board_path, version, sc, **kw)
        path = d / ("%s.img" % name)
        path.write_bytes(data)
        e.images[name] = str(path)
    return e


def cli(storage, *args, stdin=None):
    r = subprocess.run([sys.executable, "-m", "hearth.boot"] + list(args[:1]) + ["--storage", str(storage)]
                       + list(args[1:]), capture_output=True, text=True, input=stdin, timeout=120)
    return r.returncode, r.stdout, r.stderr


def device(env, tmp_path, max_attempts=3):
    st = DirStorage(str(tmp_path / "storage"))
    init(st, env.board, [("key.pem", open(env.key, "rb").read())], max_attempts=max_attempts)
    return Launcher(st)


def boot(L):
    d = L.select()
    if not d.recovery:
        L.materialize(d)
    return d


def install_confirm(L, path, **kw):
    L.install(path, **kw)
    d = boot(L)
    assert d.trial
    L.confirm()
    return d


def test_cli_install_trial_boot_confirm(env, tmp_path):
    storage = tmp_path / "st"
    rc, out, err = cli(storage, "status")
    assert rc == 1 and "not initialized" in err
    rc, out, err = cli(storage, "init", "--board", env.board_path, "--key", env.key, "--json")
    assert rc == 0, err
    assert json.loads(out)["board"] == "testboard"
    rc, out, err = cli(storage, "boot", "--no-recovery", "--json")
    assert rc == 3 and json.loads(out)["recovery"]
    rc, out, err = cli(storage, "install", env.images["v1"])
    assert rc == 0 and "slot a" in out, err
    s = json.loads(cli(storage, "status", "--json")[1])
    assert (s["pending"], s["slot"], s["trial"]) == ("a", None, False)
    rc, out, err = cli(storage, "boot", "--no-run", "--json")      # a dry run: nothing counted
    d = json.loads(out)
    assert rc == 0 and (d["slot"], d["trial"], d["version"]) == ("a", True, "1.0.0")
    rc, out, err = cli(storage, "boot", "--", "x")                 # runs the image's entry module
    assert rc == 0 and json.loads(out) == {"slot": "a", "argv": ["x"]}, err
    assert os.path.isfile(os.path.join(storage, "boot", "run", d["digest"][:16], "app.py"))
    s = json.loads(cli(storage, "status", "--json")[1])
    assert (s["slot"], s["trial"], s["attempts"], s["version"]) == ("a", True, 1, "1.0.0")
    rc, out, err = cli(storage, "confirm")
    assert rc == 0 and "confirmed 1.0.0" in out
    s = json.loads(cli(storage, "status", "--json")[1])
    assert (s["slot"], s["trial"], s["active"], s["security_counter"]) == ("a", False, "a", 1)
    r = subprocess.run([sys.executable, "-m", "hearth.boot", "install", "-", "--storage", str(storage)],
                       input=open(env.images["v2"], "rb").read(), capture_output=True)
    assert r.returncode == 0 and b"slot b" in r.stdout, r.stderr
    rc, out, err = cli(storage, "revert", "--json")       # cancel the pending trial
    assert rc == 0 and json.loads(out)["pending"] is None
    rc, out, err = cli(storage, "install", str(tmp_path / "missing.img"))
    assert rc == 2 and "cannot read" in err


def test_trial_runs_max_attempts_then_reverts(env, tmp_path):
    L = device(env, tmp_path, max_attempts=2)
    install_confirm(L, env.images["v1"])
    L.install(env.images["v2"])
    seen = [boot(L) for _ in range(4)]
    assert [(d.slot, d.trial) for d in seen] == [("b", True), ("b", True), ("a", False), ("a", False)]
    assert seen[2].event["event"] == "revert" and "not confirmed after 2" in seen[2].event["reason"]
    s = L.status()
    assert (s["version"], s["security_counter"], s["slots"]["b"]["confirmed"]) == ("1.0.0", 1, False)
    assert L.confirm()["confirmed"] is False         # nothing to confirm after the revert
    # a trial that never ran cannot be confirmed, and a running trial blocks installs
    L.install(env.images["v2"])
    with pytest.raises(S.StateError) as e:
        L.confirm()
    assert e.value.code == "not-booted"
    boot(L)
    with pytest.raises(S.StateError) as e:
        L.install(env.images["v3"])
    assert e.value.code == "trial-running"
    assert L.confirm()["confirmed"] and L.status()["security_counter"] == 2


def test_confirm_without_trial_is_a_noop(env, tmp_path):
    L = device(env, tmp_path)
    install_confirm(L, env.images["v1"])
    r = L.confirm()
    assert r["confirmed"] is False and r["version"] == "1.0.0"


def test_anti_rollback(env, tmp_path):
    L = device(env, tmp_path)
    install_confirm(L, env.images["v2"])            # counter 2
    with pytest.raises(ImageError) as e:
        L.install(env.images["v1"])                  # counter 1 < 2
    assert e.value.code == "security-counter"
    with pytest.raises(S.StateError) as e:
        L.revert()
    assert e.value.code == "nothing-to-revert"
    install_confirm(L, env.images["v2b"])           # same counter, allows rollback to >= 1.1.0
    assert L.revert()["version"] == "1.1.0"          # manual revert to the previous image
    assert boot(L).verified.version == "1.1.0"
    install_confirm(L, env.images["v3"])             # counter 3: slot b now 2.0.0
    with pytest.raises(S.StateError) as e:
        L.revert()                                   # 1.1.0 has counter 2 < 3
    assert e.value.code == "revert-refused" and "security counter" in str(e.value)


def test_rollback_target_limits_manual_revert(env, tmp_path):
    L = device(env, tmp_path)
    install_confirm(L, env.images["v2"])
    install_confirm(L, env.images["v2b"])            # 1.2.0, rollback_target 1.1.0
    assert L.revert()["version"] == "1.1.0"
    # and the other way round: 1.2.0 declares nothing below 1.1.0 is compatible
    L2 = device(env, tmp_path / "two")
    install_confirm(L2, env.images["v2b"])
    st = L2.st
    # put an older confirmed image in slot b by hand through the state record
    state = S.load_state(st)[0]
    raw = open(env.images["v1"], "rb").read()
    h = st.open_write(S.slot_file("b"))
    st.write(h, raw)
    st.close(h)
    v = L2.check_bytes(raw, 0)
    state["slots"]["b"] = {"digest": v.img.digest.hex(), "version": "1.0.0", "security_counter": 2,
                           "size": len(raw), "rollback_target": None, "confirmed": True}
    S.save_state(st, state)
    with pytest.raises(S.StateError) as e:
        L2.revert()
    assert e.value.code == "revert-refused"


def test_corrupt_active_slot_falls_back_then_recovers(env, tmp_path):
    L = device(env, tmp_path)
    install_confirm(L, env.images["v1"])
    install_confirm(L, env.images["v2b"])            # b active (counter 2), a = 1.0.0 (counter 1)
    install_confirm(L, env.images["v2"], allow_downgrade=True)   # a = 1.1.0 (counter 2), active a
    assert L.status()["slot"] == "a"
    path = L.st.local_path(S.slot_file("a"))
    raw = bytearray(open(path, "rb").read())
    raw[700] ^= 0x40
    open(path, "wb").write(bytes(raw))
    d = boot(L)
    assert (d.slot, d.verified.version, d.event["event"]) == ("b", "1.2.0", "fallback")
    assert "digest-mismatch" in d.reasons[0]
    os.unlink(L.st.local_path(S.slot_file("b")))
    d = L.select()
    assert d.recovery and len(d.reasons) == 2


def test_recovery_console_accepts_an_image(env, tmp_path):
    storage = tmp_path / "st"
    assert cli(storage, "init", "--board", env.board_path, "--key", env.key)[0] == 0
    script = "help\nboot\ninstall %s\nstatus\nboot\n" % env.images["v1"]
    rc, out, err = cli(storage, "boot", "--json", stdin=script)
    assert rc == 0, err
    assert "hearth recovery: no bootable image" in out
    assert "error: nothing installed yet" in out
    assert "installed 1.0.0 in slot a" in out
    # leaving the console with `boot` runs the image it installed, as a trial
    assert json.loads(out.strip().splitlines()[-1].split("recovery> ")[-1]) == {"slot": "a", "argv": []}
    s = json.loads(cli(storage, "status", "--json")[1])
    assert (s["slot"], s["trial"], s["attempts"]) == ("a", True, 1)
    other = tmp_path / "other"
    assert cli(other, "init", "--board", env.board_path, "--key", env.key)[0] == 0
    rc, out, err = cli(other, "boot", stdin="install /nonexistent.img\nexit\n")
    assert rc == 3 and "error: [Errno 2]" in out
    # the running launcher then execs the image's entry module from its run directory
    rc, out, err = cli(storage, "boot", "--", "x", "y")
    assert rc == 0, err
    assert json.loads(out) == {"slot": "a", "argv": ["x", "y"]}


def damage(st, name, how):
    """Bit rot, a torn copy or a lost file, done behind the launcher's back."""
    path = st.local_path(name)
    if how == "delete":
        os.unlink(path)
        return
    raw = bytearray(open(path, "rb").read())
    if how == "truncate":
        raw = raw[:len(raw) // 2]
    else:
        raw[len(raw) // 2] ^= 0x01
    open(path, "wb").write(bytes(raw))


def test_corrupt_state_copy_is_repaired_from_the_other(env, tmp_path):
    L = device(env, tmp_path)
    install_confirm(L, env.images["v1"])
    install_confirm(L, env.images["v2"])
    path = L.st.local_path(S.STATE)
    raw = open(path, "rb").read()
    open(path, "wb").write(raw.replace(b'"attempts"', b'"attemptz"'))
    s = L.status()
    assert s["state_note"] and "corrupt" in s["state_note"]
    d = boot(L)                                      # boots as before and rewrites the bad copy
    assert (d.verified.version, d.trial) == ("1.1.0", False)
    s = L.status()
    assert (s["security_counter"], s["last_event"]["event"], s["state_note"]) == (2, "confirm", None)


def test_both_state_copies_corrupt_rebuild_from_the_confirm_record(env, tmp_path):
    L = device(env, tmp_path)
    install_confirm(L, env.images["v2"])
    install_confirm(L, env.images["v2b"])            # 1.2.0 in b, same counter as 1.1.0 in a
    for name in S.STATE_COPIES:
        damage(L.st, name, "corrupt")
    d = boot(L)
    assert (d.slot, d.verified.version, d.trial) == ("b", "1.2.0", False)
    s = L.status()
    assert (s["security_counter"], s["last_event"]["event"], s["state_note"]) == (2, "rebuilt", None)
    # the previous image is kept but no longer known to be confirmed: no revert to it
    assert (s["slots"]["a"]["confirmed"], s["slots"]["b"]["confirmed"]) == (False, True)
    with pytest.raises(S.StateError) as e:
        L.revert()
    assert e.value.code == "nothing-to-revert"


@pytest.mark.parametrize("how", ["truncate", "corrupt", "delete"])
def test_lost_state_record_during_a_trial_keeps_it_a_trial(env, tmp_path, how):
    # a rebuild used to confirm every slot that verified, so the trial image
    # skipped its health check and the stored counter rose to its counter
    L = device(env, tmp_path)
    install_confirm(L, env.images["v1"])
    L.install(env.images["v2"])
    assert boot(L).trial
    damage(L.st, S.STATE, how)
    s = L.status()
    assert (s["slot"], s["trial"], s["attempts"], s["security_counter"]) == ("b", True, 1, 1)
    assert s["slots"]["b"]["confirmed"] is False
    d = boot(L)
    assert (d.slot, d.trial) == ("b", True) and L.status()["attempts"] == 2
    L.revert()                                       # its health check failed: the old image still boots
    d = boot(L)
    assert (d.slot, d.trial, d.verified.version) == ("a", False, "1.0.0")
    assert L.status()["security_counter"] == 1


@pytest.mark.parametrize("how", ["truncate", "corrupt", "delete"])
def test_lost_state_record_keeps_the_confirmed_image_and_the_counter(env, tmp_path, how):
    # a deleted record used to send the device to recovery with the counter at 0
    L = device(env, tmp_path)
    install_confirm(L, env.images["v1"])
    install_confirm(L, env.images["v2"])
    damage(L.st, S.STATE, how)
    d = boot(L)
    assert (d.recovery, d.slot, d.trial, d.verified.version) == (False, "b", False, "1.1.0")
    with pytest.raises(ImageError) as e:
        L.install(env.images["v0"])                  # counter 0 < 2
    assert e.value.code == "security-counter"
    s = L.status()
    assert (s["security_counter"], s["slots"]["a"]["confirmed"], s["state_note"]) == (2, True, None)


def test_both_state_copies_lost_during_a_trial_boot_the_confirmed_image(env, tmp_path):
    L = device(env, tmp_path)
    install_confirm(L, env.images["v1"])
    L.install(env.images["v2"])
    assert boot(L).trial
    for name in S.STATE_COPIES:
        damage(L.st, name, "delete")
    d = boot(L)
    assert (d.slot, d.trial, d.verified.version) == ("a", False, "1.0.0")
    s = L.status()
    assert s["last_event"]["event"] == "rebuilt" and "slot a holds the confirmed image" in s["last_event"]["reason"]
    assert (s["security_counter"], s["trial"], s["pending"], s["slots"]["b"]["confirmed"]) == (1, False, None, False)
    install_confirm(L, env.images["v2"])             # the update can simply be repeated
    assert L.status()["security_counter"] == 2


def test_all_state_records_lost_boot_the_oldest_image_as_a_trial(env, tmp_path):
    # nothing says which slot was confirmed: neither is trusted as confirmed,
    # the one with the lowest counter must pass its health check again
    L = device(env, tmp_path)
    install_confirm(L, env.images["v1"])
    install_confirm(L, env.images["v2"])
    for name in S.STATE_COPIES + (S.CONFIRMED,):
        damage(L.st, name, "delete")
    s = L.status()
    assert (s["pending"], s["security_counter"]) == ("a", 0)      # a rebuild never raises the counter
    assert not s["slots"]["a"]["confirmed"] and not s["slots"]["b"]["confirmed"]
    d = boot(L)
    assert (d.slot, d.trial, d.verified.version) == ("a", True, "1.0.0")
    assert L.confirm()["confirmed"] and L.status()["security_counter"] == 1


def test_old_single_record_devices_migrate(env, tmp_path):
    # a device written before the second copy existed: state.json alone
    L = device(env, tmp_path)
    install_confirm(L, env.images["v1"])
    for name in (S.STATE_COPY, S.CONFIRMED):
        damage(L.st, name, "delete")
    assert L.status()["state_note"]
    d = boot(L)
    assert (d.slot, d.trial) == ("a", False)
    assert L.st.exists(S.STATE_COPY) and L.st.exists(S.CONFIRMED) and L.status()["state_note"] is None


def test_max_attempts_out_of_range_is_refused(env, tmp_path):
    # -1 used to be stored, then failed the record's validation, and the
    # rebuild that followed confirmed the untested trial image
    st = DirStorage(str(tmp_path / "fresh"))
    key = [("key.pem", open(env.key, "rb").read())]
    for bad in (0, -1, 256, "3", True):
        with pytest.raises(S.StateError) as e:
            init(st, env.board, key, max_attempts=bad)
        assert e.value.code == "bad-max-attempts" and "1 to 255" in str(e.value), bad
    assert not st.exists(S.DEVICE)
    L = device(env, tmp_path)
    install_confirm(L, env.images["v1"])
    before = L.status()
    for bad in (0, -1, 256):
        with pytest.raises(S.StateError) as e:
            L.install(env.images["v2"], max_attempts=bad)
        assert e.value.code == "bad-max-attempts"
    assert L.status() == before and not L.st.exists(S.INCOMING)
    d = boot(L)
    assert (d.slot, d.trial) == ("a", False)
    assert L.install(env.images["v2"], max_attempts=255)["max_attempts"] == 255
    # a device record an older init wrote with -1: install says how to fix it
    dev = dict(L.device, max_attempts=-1)
    S.save_device(L.st, dev)
    with pytest.raises(S.StateError) as e:
        Launcher(L.st).install(env.images["v2"])
    assert e.value.code == "bad-max-attempts" and "init --force" in str(e.value)


def test_cli_rejects_max_attempts_out_of_range(env, tmp_path):
    storage = tmp_path / "st"
    rc, out, err = cli(storage, "init", "--board", env.board_path, "--key", env.key, "--max-attempts", "0")
    assert rc == 2 and "--max-attempts" in err and "1 to 255" in err, err
    assert not (storage / "boot" / "device.json").exists()
    assert cli(storage, "init", "--board", env.board_path, "--key", env.key)[0] == 0
    rc, out, err = cli(storage, "install", env.images["v1"], "--max-attempts", "-1")
    assert rc == 2 and "1 to 255" in err, err
    assert json.loads(cli(storage, "status", "--json")[1])["pending"] is None


def test_downgrade_needs_allow_downgrade(env, tmp_path):
    L = device(env, tmp_path)
    install_confirm(L, env.images["v2"])             # 1.1.0, counter 2
    before = L.status()
    with pytest.raises(S.StateError) as e:
        L.install(env.images["v105"])                # 1.0.5, same counter
    assert e.value.code == "downgrade" and "--allow-downgrade" in str(e.value)
    assert L.status() == before
    with pytest.raises(ImageError) as e:             # never below the security counter
        L.install(env.images["v1"], allow_downgrade=True)
    assert e.value.code == "security-counter"
    import hearth.boot as hb
    hb.install(L.st, env.images["v105"], allow_downgrade=True)      # the application's API passes it on
    assert boot(L).trial and L.confirm()["confirmed"]
    s = L.status()
    assert (s["version"], s["security_counter"]) == ("1.0.5", 2)
    L.install(env.images["v2"])                      # upgrades need nothing
    assert L.status()["pending"] == "a"


def test_a_refused_install_leaves_no_partial_image(env, tmp_path):
    """Whatever refuses an install after bytes were received (the launcher's
    checks, the image itself, the source failing mid-stream), boot/incoming.img
    does not keep up to a slot's worth of space."""
    import io
    L = device(env, tmp_path)
    install_confirm(L, env.images["v2"])
    with pytest.raises(S.StateError):
        L.install(env.images["v105"])                # a downgrade, refused after the whole image arrived
    assert not L.st.exists(S.INCOMING)
    with open(env.images["v2b"], "rb") as f:
        good = f.read()
    bad = bytearray(good)
    bad[-1] ^= 0x01                                  # the signature no longer verifies
    with pytest.raises(ImageError):
        L.install(bytes(bad))
    assert not L.st.exists(S.INCOMING)

    class Dies(io.RawIOBase):
        def __init__(self, data):
            self.data, self.pos = data, 0

        def read(self, n=-1):
            if self.pos > len(self.data) // 2:
                raise OSError(5, "link lost")
            b = self.data[self.pos:self.pos + 4096]
            self.pos += len(b)
            return b
    with pytest.raises(OSError):
        L.install(Dies(good))
    assert not L.st.exists(S.INCOMING)


def test_rollback_target_limits_install(env, tmp_path):
    L = device(env, tmp_path)
    install_confirm(L, env.images["v2b"])            # 1.2.0, rollback_target 1.1.0
    with pytest.raises(S.StateError) as e:
        L.install(env.images["v109"], allow_downgrade=True)
    assert e.value.code == "rollback-target" and "1.1.0" in str(e.value)
    assert L.status()["pending"] is None
    assert L.install(env.images["v2"], allow_downgrade=True)["version"] == "1.1.0"


def test_cli_downgrade(env, tmp_path):
    storage = tmp_path / "st"
    assert cli(storage, "init", "--board", env.board_path, "--key", env.key)[0] == 0
    L = Launcher(DirStorage(str(storage)))
    install_confirm(L, env.images["v2"])
    rc, out, err = cli(storage, "install", env.images["v105"])
    assert rc == 1 and "refused: downgrade:" in err and "--allow-downgrade" in err, err
    rc, out, err = cli(storage, "install", env.images["v105"], "--allow-downgrade")
    assert rc == 0 and "1.0.5" in out, err


def test_health_check_confirms_only_when_healthy(env, tmp_path):
    L = device(env, tmp_path)
    storage = L.st.root
    now = [100.0]
    hc = HealthCheck(storage, hold_s=30, clock=lambda: now[0])
    L.install(env.images["v1"])
    assert hc.poll() == "not-trial"                  # pending, not booted yet: nothing runs it
    hc = HealthCheck(storage, hold_s=30, clock=lambda: now[0])
    boot(L)
    assert hc.poll().startswith("waiting: detector")
    hc.detector("failed")
    assert "failed" in hc.poll()
    hc.detector("absent")                            # AI deliberately absent is healthy
    assert "console" in hc.poll()
    hc.console_up()
    now[0] += 20
    hc.fault("thermal trip")
    now[0] += 20
    assert hc.poll() == "waiting: 20 of 30 s without fault"
    assert L.status()["trial"]
    now[0] += 11
    assert hc.poll() == "confirmed"
    assert hc.poll() == "confirmed"
    s = L.status()
    assert (s["trial"], s["active"], s["version"]) == (False, "a", "1.0.0")
    assert HealthCheck(storage).poll() == "not-trial"


def test_uninitialized_and_keyless_devices_refuse(env, tmp_path):
    st = DirStorage(str(tmp_path / "s"))
    with pytest.raises(S.StateError) as e:
        Launcher(st).install(env.images["v1"])
    assert e.value.code == "not-initialized"
    with pytest.raises(S.StateError):
        init(st, env.board, [])
    init(st, env.board, [("k", open(env.key, "rb").read())])
    with pytest.raises(S.StateError) as e:
        init(st, env.board, [("k", open(env.key, "rb").read())])
    assert e.value.code == "initialized"
    # the private half is never stored
    for name in st.list_files(S.TRUST):
        assert b"PRIVATE" not in st.read(name)


def test_api_module_and_package_exports(env, tmp_path):
    import hearth.boot as hb
    L = device(env, tmp_path)
    L.install(env.images["v1"])
    boot(L)
    assert hb.status(L.st.root)["trial"] is True
    assert hb.confirm(L.st.root)["confirmed"] is True
    assert hb.HealthCheck is HealthCheck
    assert hb.LAUNCHER_VERSION == "1.0.0"
