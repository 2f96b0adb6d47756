"""Serial console: a line shell on a pty (sim) or a UART (real boards).

The shell's commands are defined here over an App; the transport only moves
bytes. Lines starting with the SMP framing bytes (0x06 0x09 / 0x04 0x14) go
to `smp_handler` (a later issue adds MCUmgr); until then they are counted and
ignored, so a host tool probing for SMP never confuses the shell.
"""
import errno
import os
import tty

from .core.appliance import BUTTONS, status_text
from .core.log import format_record, LEVELS
from .core.shell import CommandError, LineSplitter, Shell
from .ports.audio import AudioError, read_wav
from .ports.sensors import write_millidegrees

SOURCES = ("console", "ai", "cloud")
ACTIONS = ("start", "stop", "setpoint", "timer", "lamp", "ack")


def _float(s, what):
    try:
        v = float(s)
    except ValueError:
        raise CommandError("%s must be a number, got %r" % (what, s)) from None
    if v != v or v in (float("inf"), float("-inf")):
        raise CommandError("%s must be a finite number" % what)
    return v


def _value(action, args):
    if action in ("setpoint", "timer"):
        if not args:
            raise CommandError("%s needs a value" % action)
        return _float(args[0], action)
    if action == "lamp":
        if not args or args[0] not in ("on", "off"):
            raise CommandError("lamp needs on|off")
        return args[0] == "on"
    return None


def make_shell(app, reload_hook=None):
    """The console commands over an App (hearth.app.App)."""
    sh = Shell()
    ap = app.appliance
    sim = getattr(app, "ports", {}).get("oven") is not None

    def status(args):
        st = app.status()
        return st, status_text(st)

    def metrics(args):
        d = app.metrics.to_dict(app.modes)
        return d, app.metrics.text(app.modes)

    def log(args):
        if not args:
            recs = app.log.records[-20:]
            return [list(r) for r in recs], "\n".join(format_record(r) for r in recs) or "(no records)"
        level = args[0]
        if level.lower() not in LEVELS:
            raise CommandError("level must be one of debug, info, warn, error")
        module = args[1] if len(args) > 1 else None
        app.log.set_level(level, module)
        return {"level": level.lower(), "module": module}, "log level %s%s" % (
            level.lower(), (" for " + module) if module else "")

    def inject(args):
        if not args:
            raise ValueError("no file")
        replace = "--replace" in args
        path = [a for a in args if a != "--replace"][0]
        try:
            pcm = read_wav(path, app.rate)
        except AudioError as e:
            raise CommandError(str(e)) from None
        app.audio.inject(pcm, replace=replace)
        secs = len(pcm) / float(app.rate)
        app.log.emit(app.t, 20, "audio", "injected %s (%.2f s)" % (os.path.basename(path), secs))
        return {"file": path, "seconds": secs}, "injecting %s (%.2f s)" % (path, secs)

    def oven(args):
        if not args or args[0] not in ACTIONS:
            raise CommandError("usage: oven %s [VALUE]" % "|".join(ACTIONS))
        action = args[0]
        ok, reason = ap.request("console", action, _value(action, args[1:]), app.t)
        if not ok:
            raise CommandError("refused: " + reason)
        return {"action": action, "result": reason}, reason

    def request(args):
        if len(args) < 2 or args[0] not in SOURCES or args[1] not in ACTIONS:
            raise CommandError("usage: request %s %s [VALUE]" % ("|".join(SOURCES), "|".join(ACTIONS)))
        source, action = args[0], args[1]
        ok, reason = ap.request(source, action, _value(action, args[2:]), app.t)
        return {"source": source, "action": action, "allowed": ok, "reason": reason}, (
            "%s: %s" % ("allowed" if ok else "refused", reason))

    def modes(args):
        tr = app.modes.transitions
        lines = ["%8.2f  %s -> %s  %s%s" % (e["t"], e["from"], e["to"], e["cause"],
                                            (" (" + e["detail"] + ")") if e["detail"] else "") for e in tr]
        return {"mode": app.modes.mode, "transitions": tr, "counts": app.modes.counts}, (
            "mode %s\n" % app.modes.why() + ("\n".join(lines) if lines else "no transitions"))

    def reload(args):
        port, problems = app.load_detector()
        if reload_hook:
            reload_hook()
        names = port.names if port is not None else []
        txt = "detector: %s" % (", ".join(names) if names else "not running")
        if problems:
            txt += "\n" + "\n".join("  %s: %s" % p for p in problems)
        return {"models": names, "problems": [list(p) for p in problems]}, txt

    sh.add("status", status, "", "mode and why, setpoint, temperatures, actuators")
    sh.add("metrics", metrics, "", "latency per stage, detections, confidence, transitions, overruns")
    sh.add("log", log, "[LEVEL [MODULE]]", "show recent log, or set the level (debug|info|warn|error)")
    sh.add("inject", inject, "FILE.wav [--replace]", "mix a 16 kHz WAV file into the audio path")
    sh.add("oven", oven, "start|stop|setpoint C|timer S|lamp on|off|ack", "ask the governor, as the console")
    sh.add("request", request, "ai|cloud|console ACTION [VALUE]", "ask the governor on behalf of a source")
    sh.add("modes", modes, "", "mode transitions with their causes")
    sh.add("reload", reload, "", "re-verify and reload the detector models")

    if sim:
        o = app.ports["oven"]

        def press(args):
            if not args or args[0] not in BUTTONS:
                raise CommandError("usage: press %s" % "|".join(BUTTONS))
            app.inputs.press(args[0])
            return {"button": args[0]}, "pressed " + args[0]

        def door(args):
            if not args or args[0] not in ("open", "close"):
                raise CommandError("usage: door open|close")
            o.door_open = args[0] == "open"
            return {"door_open": o.door_open}, "door " + ("opened" if o.door_open else "closed")

        def soc(args):
            if not args:
                raise ValueError("no temperature")
            v = _float(args[0], "temperature")
            write_millidegrees(app.soc.path, v)
            return {"soc_c": v}, "SoC temperature file set to %.1f C" % v

        def sensor(args):
            if not args or args[0] not in ("ok", "fault"):
                raise CommandError("usage: sensor ok|fault")
            o.cavity_fault = args[0] == "fault"
            return {"cavity_fault": o.cavity_fault}, "cavity sensor " + args[0]

        sh.add("press", press, "|".join(BUTTONS), "sim: press a front-panel button")
        sh.add("door", door, "open|close", "sim: open or close the door")
        sh.add("soc", soc, "TEMP_C", "sim: write the SoC thermal-zone file")
        sh.add("sensor", sensor, "ok|fault", "sim: unplug or replug the cavity sensor")
    return sh


class PtyConsole:
    """The shell on a pseudo-terminal; `path` is what a terminal program opens."""

    def __init__(self, shell, smp_handler=None, prompt="hearth> "):
        self.shell = shell
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.split = LineSplitter()
        self.smp_handler = smp_handler
        self.smp_frames = 0
        self.prompt = prompt
        self.lines = 0

    def write(self, text):
        data = text.replace("\n", "\r\n").encode()
        while data:
            try:
                n = os.write(self.master, data)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EIO):
                    return          # nobody reading: drop rather than block the loop
                raise
            data = data[n:]

    def log_sink(self, t, level, module, msg):
        self.write(format_record((t, level, module, msg)) + "\n")

    def poll(self):
        """Read what arrived and run complete lines. Never blocks."""
        try:
            data = os.read(self.master, 4096)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EIO):
                return
            raise
        for kind, item in self.split.feed(data):
            if kind == "smp":
                self.smp_frames += 1
                if self.smp_handler is not None:
                    reply = self.smp_handler(item)
                    if reply:
                        os.write(self.master, reply)
            elif kind == "error":
                self.write("error: %s\n%s" % (item, self.prompt))
            else:
                self.lines += 1
                ok, out = self.shell.execute(item)
                self.write((out + "\n" if out else "") + self.prompt)

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
