"""The update path end to end with the real appliance: `hearth image build` of
the sim board (real firmware, native extension, models), the launcher's
init/install/boot, and `python -m hearth` running from the slot's run
directory. A good image confirms itself after the health check; an image with
a corrupted model never passes it and is reverted after max_attempts boots.

The board is boards/sim.toml with a 2 s health-check hold, so runs stay short;
every run is bounded (--seconds, or the trial deadline) and every process the
test starts is stopped by it.
"""
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

import pytest

from hearth_tools.testing import testkit

from conftest import run_hearth  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
HOLD_S = 2.0
MAX_ATTEMPTS = 2
TIMEOUT = 180           # a hung process fails the test instead of hanging it




class Device:
    """A storage directory driven through `python -m hearth.boot`."""

    def __init__(self, root, cwd):
        self.root = root
        self.cwd = cwd

    def cli(self, *args):
        r = subprocess.run([sys.executable, "-m", "hearth.boot"] + list(args) + ["--storage", self.root],
                           capture_output=True, text=True, timeout=TIMEOUT, cwd=self.cwd)
        return r

    def status(self):
        r = self.cli("status", "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def start(self, *app_args):
        """`boot -- APP ARGS` in its own session (the launcher execs the app in place)."""
        return subprocess.Popen([sys.executable, "-m", "hearth.boot", "boot", "--storage", self.root, "--"]
                                + list(app_args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=self.cwd, start_new_session=True)

    def boot(self, *app_args):
        """Boot and wait for the (bounded) run to end: (rc, stdout JSON lines, stderr)."""
        p = self.start(*app_args)
        try:
            out, err = p.communicate(timeout=TIMEOUT)
        finally:
            stop(p)
        return p.returncode, [json.loads(l) for l in out.splitlines() if l.startswith("{")], err


def stop(p):
    """Stop a process this test started (and anything in its session)."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=30)
    for f in (p.stdout, p.stderr):
        if f is not None:
            f.close()


def log_lines(err):
    """Device log records on stderr -> [(t, level, module, message)]."""
    out = []
    for line in err.splitlines():
        m = re.match(r"\[\s*([0-9.]+)\] (\w+)\s+(\w+)\s+(.*)$", line)
        if m:
            out.append((float(m.group(1)), m.group(2), m.group(3), m.group(4)))
    return out


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    d = tmp_path_factory.mktemp("integration")
    k = type("Kit", (), {})()
    k.dir = d
    k.key = testkit.keygen(str(d / "key.pem"))
    # the sim board, with a short hold so a trial boot is over in seconds
    text = open(os.path.join(ROOT, "boards", "sim.toml"), encoding="utf-8").read()
    text, n = re.subn(r"(?m)^health_check_s = .*$", "health_check_s = %.1f" % HOLD_S, text)
    assert n == 1
    k.board = str(d / "sim.toml")
    open(k.board, "w", encoding="utf-8").write(text)
    # a good image, and one whose hey_jarvis model does not match its pinned hash
    k.good = str(d / "good.img")
    rc, out, err = run_hearth("--json", "image", "build", "--board", k.board, "--version", "1.1.0",
                          "--key", k.key, "-o", k.good)
    assert rc == 0, err
    k.good_summary = json.loads(out)
    bad_models = d / "bad-models"
    bad_models.mkdir()
    for name in os.listdir(os.path.join(ROOT, "models")):
        data = open(os.path.join(ROOT, "models", name), "rb").read()
        if name == "hey_jarvis.tflite":
            data = bytearray(data)
            data[len(data) // 2] ^= 0x5A
        (bad_models / name).write_bytes(bytes(data))
    k.bad = str(d / "bad.img")
    rc, out, err = run_hearth("image", "build", "--board", k.board, "--version", "1.2.0", "--key", k.key,
                          "-o", k.bad, "--models", str(bad_models))
    assert rc == 0, err
    # one device for the whole story: provisioned once, updated twice
    k.dev = Device(str(d / "storage"), str(d))
    r = k.dev.cli("init", "--board", k.board, "--key", k.key, "--max-attempts", str(MAX_ATTEMPTS))
    assert r.returncode == 0, r.stderr
    return k


def test_good_image_confirms_itself_after_the_health_check(kit):
    dev = kit.dev
    r = dev.cli("install", kit.good)
    assert r.returncode == 0, r.stderr
    assert dev.status()["pending"] == "a"
    # no trial deadline: a fault (a block overrun on a busy machine) only delays the confirm
    rc, lines, err = dev.boot("--fast", "--seconds", "10", "--json", "--trial-deadline", "0")
    assert rc == 0, err
    first, last = lines[0], lines[-1]
    run_dir = os.path.join(dev.root, "boot", "run")
    assert first["package"].startswith(run_dir) and first["package"].endswith(os.sep + "hearth")
    assert (first["board"], first["slot"], first["version"]) == ("sim", "a", "1.1.0")
    log = log_lines(err)
    msgs = [m for _, _, _, m in log]
    # the real detector from the image ran
    assert any(m.startswith("detector running: okay_nabu, hey_jarvis, hey_mycroft, alexa") for m in msgs), err
    # CONSTRAINED on trial, then confirmed no earlier than the hold time, then FULL
    enter = [e for e in log if e[2] == "mode" and "FULL -> CONSTRAINED: trial boot" in e[3]]
    assert enter and "new image on trial: version 1.1.0, boot 1 of %d" % MAX_ATTEMPTS in enter[0][3], err
    confirmed = [e for e in log if e[2] == "boot" and e[3] == "health check passed: image confirmed"]
    leave = [e for e in log if e[2] == "mode" and e[3] == "CONSTRAINED -> FULL: trial boot cleared"]
    assert confirmed and leave, err
    assert enter[0][0] < HOLD_S <= confirmed[0][0] <= leave[0][0]
    assert (last["mode"], last["trial"], last["health"]) == ("FULL", False, "confirmed")
    s = dev.status()
    assert (s["active"], s["slot"], s["trial"], s["version"]) == ("a", "a", False, "1.1.0")
    assert s["slots"]["a"]["confirmed"] and s["security_counter"] == kit.good_summary["security_counter"]
    assert s["last_event"]["event"] == "confirm"
    # the next boot runs the confirmed image, not on trial
    rc, lines, err = dev.boot("--fast", "--seconds", "1", "--json")
    assert rc == 0, err
    assert (lines[-1]["mode"], lines[-1]["trial"], lines[-1]["health"]) == ("FULL", False, "not-trial")


def console_command(path, line, timeout=60.0):
    """Send one --json command over the console pty; return its JSON reply."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, (line + " --json\n").encode())
        buf = b""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                buf += os.read(fd, 65536)
                for l in buf.split(b"\n"):
                    l = l.strip().removeprefix(b"hearth> ")
                    if l.startswith(b'{"'):
                        try:
                            return json.loads(l)
                        except ValueError:
                            pass            # a partial line: read on
        raise AssertionError("no reply to %r on %s; got %r" % (line, path, buf[-500:]))
    finally:
        os.close(fd)


def test_image_failing_its_health_check_is_reverted(kit):
    dev = kit.dev
    if dev.status()["active"] != "a":
        pytest.skip("needs the confirmed image of the previous test")
    r = dev.cli("install", kit.bad)
    assert r.returncode == 0, r.stderr
    # boot 1, paced in real time: the console shows why the device is constrained
    p = dev.start("--json", "--trial-deadline", "0")
    try:
        r, _, _ = select.select([p.stdout], [], [], TIMEOUT)
        assert r, "no console line from the app within %d s" % TIMEOUT
        first = json.loads(p.stdout.readline())
        assert (first["slot"], first["version"]) == ("b", "1.2.0")
        st = console_command(first["console"], "status")
        assert st["ok"], st
        res = st["result"]
        assert res["mode"] == "CONSTRAINED" and res["trial"] is True
        causes = {c["cause"]: c["detail"] for c in res["causes"]}
        assert causes["trial boot"].startswith("new image on trial: version 1.2.0, boot 1 of %d" % MAX_ATTEMPTS)
        assert "model hash" in causes and res["health"] == "waiting: detector failed to load"
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        stop(p)
    assert p.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["health"] == "waiting: detector failed to load"
    assert dev.status()["trial"] is True            # still unconfirmed
    # the remaining boots: each gives up at its trial deadline (3x the hold) and exits 4
    for attempt in range(2, MAX_ATTEMPTS + 1):
        rc, lines, err = dev.boot("--fast", "--seconds", "60", "--json")
        assert rc == 4, err
        assert lines[-1]["trial"] is True and "detector failed to load" in lines[-1]["trial_failed"]
        assert any("trial image not healthy after" in m for _, _, _, m in log_lines(err)), err
        s = dev.status()
        assert (s["slot"], s["trial"], s["attempts"]) == ("b", True, attempt)
    # the next boot reverts to the confirmed image, which runs normally
    rc, lines, err = dev.boot("--fast", "--seconds", "1", "--json")
    assert rc == 0, err
    assert (lines[0]["slot"], lines[0]["version"]) == ("a", "1.1.0")
    assert (lines[-1]["mode"], lines[-1]["health"]) == ("FULL", "not-trial")
    s = dev.status()
    assert (s["active"], s["trial"], s["slot"]) == ("a", False, "a")
    assert s["slots"]["b"]["confirmed"] is False
    assert s["last_event"]["event"] == "revert"
    assert s["last_event"]["reason"] == "trial not confirmed after %d boot(s)" % MAX_ATTEMPTS
    assert s["security_counter"] == kit.good_summary["security_counter"]   # never raised by the bad image
