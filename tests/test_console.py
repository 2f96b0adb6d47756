"""The console: shell commands over a sim App, and the pty transport end to end."""
import json
import os
import select
import time

from hearth.console import PtyConsole, make_shell
from hearth.ports.audio import write_wav
from hearth_tools.scenario import alarm_pattern
from console_util import app  # noqa: F401  (the fixture)


def run(sh, line):
    ok, out = sh.execute(line)
    return ok, out


def test_status_and_json(app):
    sh = make_shell(app)
    ok, out = run(sh, "status")
    assert ok and out.startswith("mode: CONSTRAINED: runtime missing")
    assert "heater=off" in out
    ok, out = run(sh, "status --json")
    d = json.loads(out)
    assert d["ok"] and d["result"]["mode"] == "CONSTRAINED"
    assert d["result"]["actuators"] == {"heater": False, "fan": False, "lamp": False, "buzzer": False}
    assert d["result"]["causes"][0]["cause"] == "runtime missing"


def test_every_command_has_json(app, tmp_path):
    sh = make_shell(app)
    wav = tmp_path / "beep.wav"
    write_wav(wav, alarm_pattern("t3", "3k", 1))
    for line in ["help", "status", "metrics", "log", "log info", "modes", "reload", "press start",
                 "door open", "door close", "soc 50", "sensor ok", "oven setpoint 190", "oven lamp on",
                 "request ai stop", "inject %s" % wav]:
        ok, out = run(sh, line + " --json")
        assert ok, (line, out)
        assert json.loads(out)["ok"] is True


def test_errors_are_one_line(app):
    sh = make_shell(app)
    for line in ["bogus", "oven", "oven setpoint hot", "oven setpoint 999", "press nothing", "door ajar",
                 "log loud", "inject", "inject /no/such.wav", "request ai fly", "soc", "soc x",
                 'inject "unterminated', "oven setpoint nan"]:
        ok, out = run(sh, line)
        assert not ok and out.startswith("error: ") and "\n" not in out, (line, out)
        ok, out = run(sh, line + " --json")
        assert not ok and json.loads(out)["ok"] is False


def test_requests_go_through_the_governor(app):
    sh = make_shell(app)
    ok, out = run(sh, "request ai start")
    assert ok and out.startswith("refused: ai may not start heating in CONSTRAINED")
    run(sh, "door open")
    app.run(seconds=0.2)
    ok, out = run(sh, "oven start")
    assert not ok and "door open" in out
    run(sh, "door close")
    app.run(seconds=0.2)
    assert run(sh, "oven start")[0]
    app.run(seconds=0.2)
    assert app.status()["actuators"]["heater"]


def test_log_levels_filter(app):
    sh = make_shell(app)
    run(sh, "log error")
    n = len(app.log.records)
    run(sh, "press start")
    app.run(seconds=0.5)
    assert len(app.log.records) == n
    run(sh, "log debug governor")
    run(sh, "press stop")
    app.run(seconds=0.5)
    assert [r[2] for r in app.log.records[n:]] == ["governor"]


def test_inject_reaches_the_alarm_listener(app, tmp_path):
    sh = make_shell(app)
    wav = tmp_path / "t3.wav"
    write_wav(wav, alarm_pattern("t3", "3k", 1))
    ok, out = run(sh, "inject %s" % wav)
    assert ok and "4.00 s" in out
    app.run(seconds=5)
    assert app.metrics.detections == {"smoke_alarm": 1}


def _read_until(fd, needle, timeout=5.0, con=None):
    """Read from the pty until `needle` (polling `con` meanwhile: it reads 1 KiB a poll)."""
    buf = b""
    end = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < end:
        if con is not None:
            con.poll()
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            buf += os.read(fd, 4096)
    return buf


def test_pty_console_end_to_end(app):
    frames = []
    con = PtyConsole(make_shell(app), smp_handler=lambda f: frames.append(f) or b"\x06\x09REPLY\n")
    fd = os.open(con.path, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, b"status\r\n")
        con.poll()
        out = _read_until(fd, b"hearth> ")
        assert b"mode: CONSTRAINED" in out and b"\r\n" in out
        os.write(fd, b"\x06\x09AAEC\n")      # an SMP frame: not for the shell
        con.poll()
        assert frames == [b"\x06\x09AAEC"] and con.smp_frames == 1 and con.lines == 1
        assert _read_until(fd, b"REPLY\n") .endswith(b"\x06\x09REPLY\n")
        os.write(fd, b"metr")                  # partial line: nothing yet
        con.poll()
        os.write(fd, b"ics --json\n")
        con.poll()
        out = _read_until(fd, b"hearth> ")
        assert out.startswith(b"metrics --json\r\n")      # the echo, then the reply
        assert json.loads(out.split(b"\r\n")[1])["command"] == "metrics"
        os.write(fd, b"x" * 2000 + b"\n")
        con.poll()
        assert b"error: line longer than" in _read_until(fd, b"hearth> ", con=con)
        app.log.sinks.append(con.log_sink)
        make_shell(app).execute("press start")
        app.run(seconds=0.3)
        assert b"button start: allowed" in _read_until(fd, b"allowed")
    finally:
        os.close(fd)
        con.close()


def test_pty_console_without_reader_never_blocks(app):
    con = PtyConsole(make_shell(app))
    try:
        for _ in range(2000):                   # far more than the pty buffer holds
            con.write("x" * 100 + "\n")
        con.poll()
    finally:
        con.close()
