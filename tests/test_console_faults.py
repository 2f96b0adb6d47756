"""Console faults never stop the control loop.

A command that fails is an error reply; `inject` refuses anything that is not
a bounded regular file before it could block; and 10,000 random lines and
byte strings sent to the console while the oven heats leave the
over-temperature cutoff working on time."""
import json
import os
import random
import threading

import pytest

from hearth.console import PtyConsole, make_shell
from hearth.core.shell import Shell
from hearth.ports.audio import write_wav
from hearth.ports.sensors import write_millidegrees
from hearth_tools.scenario import alarm_pattern
from console_util import app  # noqa: F401  (the fixture)


def _one_line_error(out):
    assert out.startswith("error: ") and "\n" not in out, out
    assert not any(ord(c) < 32 or ord(c) == 127 for c in out), out


def test_a_failing_command_is_an_error_reply_not_an_exception():
    sh = Shell()

    def boom(args):
        raise OverflowError("cannot convert float infinity to integer")

    def bad_result(args):
        return object(), "fine"             # not JSON-serialisable

    sh.add("boom", boom, "", "raises")
    sh.add("bad", bad_result, "", "returns what JSON cannot hold")
    ok, out = sh.execute("boom 1")
    assert not ok and "OverflowError" in out and "'boom 1'" in out
    _one_line_error(out)
    ok, out = sh.execute("boom --json")
    assert not ok and "OverflowError" in json.loads(out)["error"]
    ok, out = sh.execute("bad --json")
    assert not ok and json.loads(out)["ok"] is False


@pytest.mark.parametrize("value", ["1e306", "-1e306", "1e308", "1e400", "300", "-300"])
def test_soc_out_of_range_is_refused(app, value):
    sh = make_shell(app)
    before = open(app.soc.path).read()
    ok, out = sh.execute("soc " + value)
    assert not ok, out
    _one_line_error(out)
    assert open(app.soc.path).read() == before       # nothing written
    assert sh.execute("soc 90")[0]                     # a real overheat still works


def _inject_in_a_thread(sh, path, unblock):
    """Run `inject PATH`; if it is still blocked after a while, unblock it and fail."""
    res = []
    th = threading.Thread(target=lambda: res.append(sh.execute("inject %s" % path)), daemon=True)
    th.start()
    th.join(20)
    if th.is_alive():
        unblock()
        th.join(20)
        pytest.fail("inject %s blocked the loop" % path)
    return res[0]


def test_inject_refuses_a_fifo_without_blocking(app, tmp_path):
    fifo = str(tmp_path / "audio.fifo")
    os.mkfifo(fifo)

    def unblock():                          # a writer that closes at once: the reader sees EOF
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    ok, out = _inject_in_a_thread(make_shell(app), fifo, unblock)
    assert not ok and "not a regular file" in out and "FIFO" in out, out
    _one_line_error(out)
    assert not app.audio.busy()


def test_inject_refuses_a_tty_without_blocking(app):
    master, slave = os.openpty()
    try:
        path = os.ttyname(slave)
        ok, out = _inject_in_a_thread(make_shell(app), path, lambda: os.write(master, b"\x04" * 64))
        assert not ok and "not a regular file" in out and "character device" in out, out
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null", "/", "/no/such.wav"])
def test_inject_refuses_devices_directories_and_missing_files(app, path):
    ok, out = make_shell(app).execute("inject " + path)
    assert not ok, out
    _one_line_error(out)


def test_inject_bounds_the_file_size(app, tmp_path, monkeypatch):
    from hearth.console import commands
    wav = tmp_path / "long.wav"
    write_wav(wav, alarm_pattern("t3", "3k", 1))
    monkeypatch.setattr(commands, "MAX_INJECT_BYTES", os.path.getsize(wav) - 1)
    ok, out = make_shell(app).execute("inject %s" % wav)
    assert not ok and "at most" in out, out
    monkeypatch.setattr(commands, "MAX_INJECT_BYTES", os.path.getsize(wav))
    assert make_shell(app).execute("inject %s" % wav)[0]


def test_inject_bounds_the_clips_playing_at_once(app, tmp_path):
    from hearth.console import commands
    wav = tmp_path / "beep.wav"
    write_wav(wav, alarm_pattern("t3", "3k", 1))
    sh = make_shell(app)
    for _ in range(commands.MAX_CLIPS):
        assert sh.execute("inject %s" % wav)[0]
    ok, out = sh.execute("inject %s" % wav)
    assert not ok and "playing" in out, out


def test_log_levels_per_module_are_bounded(app):
    from hearth.console import commands
    sh = make_shell(app)
    for i in range(commands.MAX_LOG_MODULES):
        assert sh.execute("log debug m%d" % i)[0]
    ok, out = sh.execute("log debug one_more")
    assert not ok and "reset" in out, out
    assert sh.execute("log debug m0")[0]                 # an existing one may change
    ok, out = sh.execute("log debug 'a\x1bb'")
    assert not ok and "\\x1b" in out, out
    assert sh.execute("log info")[0] and sh.execute("log debug one_more")[0]
    assert len(app.log.modules) == 1


# -- the fuzz: the real sim loop on audio time, the console on its pty --------------------------
SEED = int(os.environ.get("HEARTH_CONSOLE_FUZZ_SEED", "20261204"))
INPUTS = 10000


NUMBERS = ["0", "-0", "50", "90", "190", "250", "299", "1e306", "-1e306", "1e308", "1e-320", "nan",
           "inf", "-inf", "9" * 400, "0x10", "1_000", "", "12abc"]
# the commands that take a path or a number, sent often enough that every
# path and number meets each of them
TARGETED = ["inject", "inject --replace", "soc", "oven setpoint", "oven timer", "request ai timer",
            "request cloud setpoint", "request console start"]


def _words(paths, commands):
    return list(commands) + NUMBERS + paths + [
        "start", "stop", "setpoint", "timer", "lamp", "on", "off", "ack", "open", "close", "ok", "fault",
        "ai", "cloud", "console", "debug", "info", "warn", "error", "governor", "'", '"', "\\",
        "--json", "--replace", "\x1b[2J", "\u202e", "\u00e9t\u00e9", "\x00"]


def _random_input(rng, words):
    """One console input: a line from the command grammar, or random bytes."""
    roll = rng.random()
    if roll < 0.1:
        line = ("%s %s" % (rng.choice(TARGETED), rng.choice(words))).encode("utf-8")
    elif roll < 0.6:
        n = rng.randint(1, 4)
        line = " ".join(rng.choice(words) for _ in range(n)).encode("utf-8")
    else:
        line = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
        if roll < 0.7:
            line = rng.choice([b"\x06\x09", b"\x04\x14"]) + line      # SMP-looking frames
    return line + rng.choice([b"\r", b"\n", b"\r\n", b"", b"\x03", b"\x7f\r"])


def _drain(fd):
    import select
    while select.select([fd], [], [], 0)[0]:
        if not os.read(fd, 65536):
            return


@pytest.mark.timeout(120)        # a console that blocks (inject FIFO) fails instead of hanging
def test_random_console_input_never_stops_the_loop_or_the_cutoff(app, tmp_path):
    """10,000 random inputs through the pty while the oven heats: every poll
    returns, the loop keeps turning, and each overheat the test injects is cut
    off on the block that sees it (heater off when that block ends)."""
    print("seed %d (set HEARTH_CONSOLE_FUZZ_SEED to repeat)" % SEED)
    rng = random.Random(SEED)
    oven = app.ports["oven"]
    wav = tmp_path / "beep.wav"
    write_wav(wav, alarm_pattern("t3", "3k", 1))
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * 4096)
    master, slave = os.openpty()
    paths = [str(wav), fifo, str(big), os.ttyname(slave), "/dev/zero", "/dev/null", str(tmp_path), "/no/such"]
    frames = []
    con = PtyConsole(make_shell(app), smp_handler=frames.append)
    fd = os.open(con.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    words = _words(paths, sorted(con.shell.commands))
    sent = checked = heated = 0
    def traffic(blocks):
        """`blocks` loop turns, each after a few random inputs."""
        n = 0
        for _ in range(blocks):
            for _ in range(rng.randint(1, 6)):
                os.write(fd, _random_input(rng, words))
                n += 1
            con.poll()
            _drain(fd)
            assert app.step(), "seed %d: the loop stopped after %d inputs" % (SEED, sent + n)
        return n

    try:
        while sent < INPUTS:
            # a checkpoint: the plant back to a cool oven, heating from the front panel ...
            oven.door_open = False
            oven.cavity_fault = False
            oven.cavity = 150.0
            app.audio.clips[:] = []
            write_millidegrees(app.soc.path, 45.0)
            app.appliance.request("console", "setpoint", 250.0, app.t)   # whatever the fuzz set
            sent += traffic(app.control_every + 1)          # a control turn clears the cutoff latch
            app.inputs.press("start")
            sent += traffic(rng.randint(1, 5))
            heated += bool(oven.heater)
            # ... then a runaway: the block that reads it must end with the heater off
            oven.cavity = app.cutoff + 5.0
            sent += traffic(1)
            assert not oven.heater and not app.appliance.outputs["heater"], (
                "seed %d: heater still on in the block that read %.1f C (after %d inputs)"
                % (SEED, oven.cavity, sent))
            checked += 1
    finally:
        os.close(fd)
        con.close()
        os.close(master)
        os.close(slave)
    assert app.running and con.lines > INPUTS // 3, (SEED, con.lines)
    # the checks meant something: the oven was heating when most runaways began
    print("seed %d: %d inputs, %d lines, %d frames, %d runaways cut off, %d of them while heating"
          % (SEED, sent, con.lines, con.smp_frames, checked, heated))
    assert heated > checked // 2, (SEED, heated, checked)
    assert con.smp_frames == len(frames) > 0
