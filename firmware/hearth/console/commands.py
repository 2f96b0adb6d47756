"""The console's commands over an App (hearth.app.App).

Each runs inside the loop's turn, so none may wait: `inject` reads only a
regular file of bounded size (a FIFO, a tty or a device could block the loop
with the heater on, or never end), and numbers are checked against what the
thing they set can hold."""
import io
import os
import stat

from ..core.appliance import BUTTONS, status_text
from ..core.log import format_record, LEVELS
from ..core.shell import CommandError, Shell, quote
from ..ports.audio import AudioError, read_wav
from ..ports.sensors import write_millidegrees

SOURCES = ("console", "ai", "cloud")
ACTIONS = ("start", "stop", "setpoint", "timer", "lamp", "ack")
# 1 MiB: 32 s of 16 kHz mono. The read and decode happen inside one console
# command (a turn), so the bound is what keeps the turn short (8 MiB took
# 24 ms with a hot page cache).
MAX_INJECT_BYTES = 1 << 20
MAX_LOG_MODULES = 32        # per-module log levels: each line could otherwise add one
MAX_CLIPS = 8               # clips mixed at once: each costs every block until it ends
SOC_RANGE_C = (-40.0, 150.0)    # what a thermal zone reports; 150 C is far past any trip point
_KINDS = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device (a tty or /dev node)"),
          (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "directory"), (stat.S_ISSOCK, "socket"))


def _not_regular(path, mode):
    kind = next((name for test, name in _KINDS if test(mode)), "special file")
    return CommandError("%s is a %s, not a regular file: inject reads WAV files only" % (quote(path), kind))


def _too_big(path, size):
    return CommandError("%s is %s bytes; inject takes at most %d (shorten it: sox IN OUT trim 0 60)"
                        % (quote(path), size, MAX_INJECT_BYTES))


def _check_file(path, st, limit):
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, st.st_mode)
    if st.st_size > limit:
        raise _too_big(path, st.st_size)


def read_bounded(path, limit=None):
    """The bytes of a regular file of at most `limit` bytes, without blocking.

    stat() first, so a FIFO, tty or device is refused without being opened
    (opening some devices acts: a watchdog arms); then open non-blocking and
    check the file actually opened (fstat: it may have been swapped since);
    then read at most limit + 1 bytes (/proc files claim a size of 0)."""
    limit = MAX_INJECT_BYTES if limit is None else limit
    try:
        _check_file(path, os.stat(path), limit)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise CommandError("%s: no such file" % quote(path)) from None
    except OSError as e:
        raise CommandError("%s: %s" % (quote(path), e.strerror or e)) from None
    try:
        _check_file(path, os.fstat(fd), limit)
        chunks = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise _too_big(path, "over %d" % limit)
        return b"".join(chunks)
    except OSError as e:
        raise CommandError("%s: %s" % (quote(path), e.strerror or e)) from None
    finally:
        os.close(fd)


class _NamedBytes(io.BytesIO):
    """File contents that print as their path in read_wav's messages."""

    def __init__(self, data, name):
        io.BytesIO.__init__(self, data)
        self.label = name

    def __str__(self):
        return self.label


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


def ota_metrics_text(m):
    return ("ota: %d checks (last %s B of metadata), %d updates (last %s B, %s), %d resumes, %d refused; "
            "last outcome %s%s" % (m["checks"], m["last_check_bytes"], m["updates"], m["last_update_bytes"],
                                   m["last_kind"] or "-", m["resumes"], m["refused"], m["last_outcome"] or "-",
                                   (" (%s)" % m["last_reason"]) if m["last_reason"] else ""))


def ota_status_text(st):
    lines = ["ota: %s%s" % (st["state"], (", next check in %.0f s" % st["next_check_in_s"])
                            if st["next_check_in_s"] is not None else "")]
    dl = st.get("download")
    if dl:
        lines.append("download: %d of %d bytes, %d resumes%s" % (dl["have"], dl["length"], dl["resumes"],
                                                                (", " + dl["last_error"]) if dl["last_error"] else ""))
    lines.append(ota_metrics_text(st["metrics"]))
    return "\n".join(lines)


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
        text = app.metrics.text(app.modes)
        ota_svc = getattr(app, "ota", None)
        if ota_svc is not None:
            d["ota"] = ota_svc.metrics()
            text += "\n" + ota_metrics_text(d["ota"])
        return d, text

    def ota(args):
        ota_svc = getattr(app, "ota", None)
        if ota_svc is None:
            raise CommandError("no OTA service: the board has no [ota] section (or enabled = false)")
        st = ota_svc.status()
        return st, ota_status_text(st)

    def log(args):
        if not args:
            recs = app.log.records[-20:]
            return [list(r) for r in recs], "\n".join(format_record(r) for r in recs) or "(no records)"
        level = args[0]
        if level.lower() not in LEVELS:
            raise CommandError("level must be one of debug, info, warn, error")
        module = args[1] if len(args) > 1 else None
        if module is not None and not (module.isidentifier() and len(module) <= 32):
            raise CommandError("module must be a name like governor or audio, got %s" % quote(module))
        if module is not None and module not in app.log.modules and len(app.log.modules) >= MAX_LOG_MODULES:
            raise CommandError("%d modules already have their own level; `log LEVEL` resets them all"
                               % MAX_LOG_MODULES)
        app.log.set_level(level, module)
        return {"level": level.lower(), "module": module}, "log level %s%s" % (
            level.lower(), (" for " + module) if module else "")

    def inject(args):
        if not args:
            raise ValueError("no file")
        replace = "--replace" in args
        path = [a for a in args if a != "--replace"][0]
        playing = len(getattr(app.audio, "clips", ()))
        if playing >= MAX_CLIPS:
            raise CommandError("%d clips already playing; wait for one to end" % playing)
        try:
            pcm = read_wav(_NamedBytes(read_bounded(path), path), app.rate)
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
    sh.add("ota", ota, "", "OTA service: state, download progress, last outcome, metrics")

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
            if not SOC_RANGE_C[0] <= v <= SOC_RANGE_C[1]:
                raise CommandError("temperature must be between %g and %g C" % SOC_RANGE_C)
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
