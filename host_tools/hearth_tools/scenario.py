"""Scripted scenarios for the sim board (what `make demo` and `hearth sim --script` run).

A script is one command per line ('#' starts a comment):

    echo TEXT                      print a heading in the transcript
    wait SECONDS                   run the loop for that much audio time
    until KEY=VALUE [within S]     run until the status matches (fails after S, default 600)
    expect KEY=VALUE ...           check the status now (ops: = != >= <= > <)
    speak "TEXT" [MODEL] [voice=V] [speed=WPM]
                                   synthesize speech (espeak-ng), inject it, run past it;
                                   with MODEL, report whether that wake word was detected
    alarm t3|t4 [3k|520] [CYCLES]  inject a smoke (t3) / CO (t4) alarm pattern and run past it
    corrupt MODEL | restore MODEL  damage / repair the model file in device storage
    anything else                  a console command (help, status, press start, door open, ...)

KEYs are status fields (mode, state, cooking, setpoint_c, cavity_c, door_open, alarm,
attention, ring, ...) and the actuators (heater, fan, lamp, buzzer). The transcript shows
every command, its console output and the device log (detections, actions, mode changes),
time-stamped in audio seconds.
"""
import os
import shutil
import subprocess
import tempfile

import numpy as np

from hearth import board as board_mod
from hearth.app import build
from hearth.console import make_shell
from hearth.core.log import format_record
from hearth.core.shell import tokenize
from hearth.ports.audio import read_wav

from .errors import HearthError, UsageError

RATE = 16000

DEMO = """\
echo == Boot: the sim oven, detector state decides the mode ==
status
echo == Preheat to 200 C from the buttons and console ==
oven setpoint 200
press start
until state=ready within 600
expect heater=off cavity_c>=195
echo == Door open: heater off, lamp on; door closed: heating resumes ==
door open
wait 1
expect heater=off lamp=on door_open=true
wait 15
door close
until heater=on within 60
echo == Wake words (espeak-ng speech into the audio path) ==
speak "okay nabu" okay_nabu
wait 3
speak "hey jarvis" hey_jarvis voice=en-us+f4 speed=150
wait 3
speak "hey mycroft" hey_mycroft
wait 3
speak "alexa" alexa
echo == The AI asks for more heat: the governor decides by mode ==
request ai setpoint 220
request ai stop
expect cooking=false
echo == Smoke alarm heard (temporal-3 at 3.1 kHz) while cooking ==
press start
wait 2
alarm t3 3k 2
expect heater=off buzzer=on alarm=true cooking=false
press start
expect cooking=false
press stop
wait 1
expect buzzer=off alarm=false
echo == CO alarm (temporal-4) and the 520 Hz low-frequency smoke alarm ==
alarm t4 3k 1
expect alarm=true
press stop
alarm t3 520 1
expect alarm=true
press stop
wait 1
echo == SoC overheating: step down to SAFE, back up with hysteresis ==
press start
soc 88
wait 4
expect mode=SAFE heater=on
status
soc 60
wait 12
expect mode!=SAFE
echo == A corrupted model file ==
corrupt hey_jarvis
reload
expect mode=CONSTRAINED
request ai setpoint 230
status
restore hey_jarvis
reload
press stop
wait 2
echo == Summary ==
metrics
modes
"""


# -- sound ------------------------------------------------------------------------------
def synthesize(text, voice="en", speed=160, rate=RATE):
    """Speech as int16 at `rate`: the hearing helper's synthesizer when present, else espeak-ng."""
    try:
        from .testing.speech import synthesize as synth
    except ImportError:
        synth = None
    if synth is not None:
        return np.asarray(synth(text, voice=voice, speed=speed, rate=rate), dtype=np.int16)
    if shutil.which("espeak-ng") is None:
        raise HearthError("espeak-ng not found: apt-get install espeak-ng")
    with tempfile.TemporaryDirectory() as d:
        raw = os.path.join(d, "s.wav")
        out = os.path.join(d, "s16.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", raw, text],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["sox", raw, "-r", str(rate), "-c", "1", "-b", "16", out],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return read_wav(out, rate)


def alarm_pattern(kind="t3", band="3k", cycles=2, amplitude=6000, rate=RATE):
    """A smoke (T3) or CO (T4) alarm: 3.1 kHz sine, or a 520 Hz square wave."""
    freq = 3100.0 if band == "3k" else 520.0
    on, gap, pause, pulses = (0.5, 0.5, 1.5, 3) if kind == "t3" else (0.1, 0.1, 5.0, 4)
    t = np.arange(int(on * rate)) / rate
    tone = np.sin(2 * np.pi * freq * t)
    if band == "520":
        tone = np.sign(tone)
    # 5 ms ramps: a real sounder does not start with a click
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.005)
    tone = (amplitude * tone * ramp).astype(np.int16)
    parts = []
    for _ in range(cycles):
        for i in range(pulses):
            parts.append(tone)
            parts.append(np.zeros(int((gap if i < pulses - 1 else pause) * rate), np.int16))
    return np.concatenate(parts)


# -- running ------------------------------------------------------------------------------
def _lookup(status, key):
    if key in status["actuators"]:
        return status["actuators"][key]
    if key not in status:
        raise UsageError("unknown status key %r" % key)
    return status[key]


def _compare(actual, op, want):
    if isinstance(actual, bool):
        want_b = want.lower() in ("true", "on", "yes", "1")
        return (actual == want_b) if op == "=" else (actual != want_b) if op == "!=" else False
    if isinstance(actual, (int, float)) and actual is not None:
        w = float(want)
        return {"=": actual == w, "!=": actual != w, ">=": actual >= w, "<=": actual <= w,
                ">": actual > w, "<": actual < w}[op]
    a = "" if actual is None else str(actual)
    return (a == want) if op == "=" else (a != want) if op == "!=" else False


def _parse_cond(text):
    for op in ("!=", ">=", "<=", "=", ">", "<"):
        if op in text:
            k, v = text.split(op, 1)
            return k.strip(), op, v.strip()
    raise UsageError("condition %r: expected KEY=VALUE" % text)


def _show(v):
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return "%.1f" % v
    return str(v)


# The script's own commands: their usage, and whether a line's arguments fit
# it (checked before the line runs, so a typo is one error line, not a crash).
SCRIPT_USAGE = {
    "wait": ("wait SECONDS", lambda a: len(a) == 1 and float(a[0]) >= 0),
    "until": ("until KEY=VALUE [within S]",
              lambda a: len(a) == 1 or (len(a) == 3 and a[1] == "within" and float(a[2]) >= 0)),
    "expect": ("expect KEY=VALUE ...", lambda a: len(a) >= 1),
    "speak": ('speak "TEXT" [MODEL] [voice=V] [speed=WPM]',
              lambda a: len(a) >= 1 and int(dict(t.split("=", 1) for t in a[1:] if "=" in t).get("speed", 1)) > 0),
    "alarm": ("alarm t3|t4 [3k|520] [CYCLES]", lambda a: len(a) <= 3 and (len(a) < 3 or int(a[2]) > 0)),
    "corrupt": ("corrupt MODEL", lambda a: len(a) == 1),
    "restore": ("restore MODEL", lambda a: len(a) == 1),
}


def _check_line(tok, n):
    usage = SCRIPT_USAGE.get(tok[0])
    if usage is None:
        return
    try:
        ok = usage[1](tok[1:])
    except ValueError:
        ok = False
    if not ok:
        raise UsageError("script line %d: %r: expected %s" % (n, " ".join(tok), usage[0]))


class Scenario:
    def __init__(self, app, write, models_src=None):
        self.app = app
        self.write = write
        self.shell = make_shell(app)
        app.console_up()        # the script drives the console shell
        self.failures = []
        self.notes = []
        self.wake = []          # (model, detected)
        self.models_src = models_src or os.path.join(board_mod.ROOT, "models")
        app.log.sinks.append(lambda t, level, module, msg: write(format_record((t, level, module, msg))))

    def run_script(self, text):
        for n, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("echo") else line.strip()
            if line:
                self.line(line, n)
        return not self.failures

    def _fail(self, msg):
        self.failures.append("t=%.1f %s" % (self.app.t, msg))
        self.write("  !! FAILED: " + msg)

    def line(self, line, n=0):
        app = self.app
        try:
            tok = tokenize(line)
        except ValueError as e:
            raise UsageError("script line %d: %s" % (n, e))
        _check_line(tok, n)
        cmd = tok[0]
        if cmd == "echo":
            self.write("")
            self.write(line[4:].strip())
            return
        self.write("hearth> " + line)
        if cmd == "wait":
            app.run(seconds=float(tok[1]))
        elif cmd == "until":
            key, op, want = _parse_cond(tok[1])
            within = float(tok[3]) if len(tok) > 3 and tok[2] == "within" else 600.0
            start = app.t
            ok = app.run(seconds=within, until=lambda a: _compare(_lookup(a.status(), key), op, want))
            if ok:
                self.write("  (%s%s%s after %.1f s)" % (key, op, want, app.t - start))
            else:
                self._fail("%s%s%s not reached within %g s (is %s)" % (
                    key, op, want, within, _show(_lookup(app.status(), key))))
        elif cmd == "expect":
            st = app.status()
            got = []
            bad = 0
            for cond in tok[1:]:
                key, op, want = _parse_cond(cond)
                actual = _lookup(st, key)
                got.append("%s=%s" % (key, _show(actual)))
                if not _compare(actual, op, want):
                    bad += 1
                    self._fail("expected %s, got %s" % (cond, _show(actual)))
            if not bad:
                self.write("  ok: " + " ".join(got))
        elif cmd == "speak":
            opts = dict(t.split("=", 1) for t in tok[2:] if "=" in t)
            rest = [t for t in tok[2:] if "=" not in t]
            if len(tok) < 2 or set(opts) - {"voice", "speed"}:
                raise UsageError("script line %d: speak \"TEXT\" [MODEL] [voice=V] [speed=WPM]" % n)
            self._speak(tok[1], rest[0] if rest else None, opts.get("voice", "en"),
                        int(opts.get("speed", 160)))
        elif cmd == "alarm":
            kind = tok[1] if len(tok) > 1 else "t3"
            band = tok[2] if len(tok) > 2 else "3k"
            cycles = int(tok[3]) if len(tok) > 3 else (2 if kind == "t3" else 1)
            if kind not in ("t3", "t4") or band not in ("3k", "520"):
                raise UsageError("script line %d: alarm t3|t4 [3k|520] [CYCLES]" % n)
            pcm = alarm_pattern(kind, band, cycles)
            app.audio.inject(pcm)
            app.run(seconds=len(pcm) / RATE + 0.5)
        elif cmd in ("corrupt", "restore"):
            self._model_file(cmd, tok[1])
        else:
            ok, out = self.shell.execute(line)
            for l in out.splitlines():
                self.write("  " + l)

    def _speak(self, text, model, voice="en", speed=160):
        app = self.app
        pcm = synthesize(text, voice=voice, speed=speed)
        before = dict(app.metrics.detections)
        app.audio.inject(pcm)
        app.run(seconds=len(pcm) / RATE + 1.5)
        new = [k for k in app.metrics.detections if app.metrics.detections[k] > before.get(k, 0)]
        if model is None:
            return
        running = app.detector is not None and model in app.detector.names and app.modes.can("nn")
        if not running:
            self.write("  (no detector running for %s: wake word skipped, mode %s)" % (model, app.modes.mode))
            self.wake.append((model, None))
            return
        hit = model in new
        self.wake.append((model, hit))
        self.write("  %s: %s" % (model, "detected, attention window open" if hit else "NOT detected"))
        if not hit:
            self.notes.append("wake word %s not detected in synthetic speech" % model)

    def _model_file(self, cmd, name):
        models = self.app.models_dir
        tfl = os.path.join(models, name + ".tflite")
        if cmd == "corrupt":
            if not os.path.exists(tfl):
                raise UsageError("no model file %s" % tfl)
            data = bytearray(open(tfl, "rb").read())
            for i in range(64, min(len(data), 4096), 97):
                data[i] ^= 0x5A
            with open(tfl, "wb") as f:
                f.write(bytes(data))
            self.write("  flipped bytes in %s" % tfl)
        else:
            shutil.copyfile(os.path.join(self.models_src, name + ".tflite"), tfl)
            self.write("  restored %s" % tfl)

    def summary(self):
        lines = []
        seen = [m for m, hit in self.wake if hit is not None]
        if self.wake:
            if seen:
                lines.append("wake words detected: %d/%d (%s)" % (
                    sum(1 for m, hit in self.wake if hit), len(seen),
                    ", ".join("%s=%s" % (m, "yes" if hit else "no") for m, hit in self.wake if hit is not None)))
            else:
                lines.append("wake words: detector not running (%s)" % self.app.modes.why())
        for n in self.notes:
            lines.append("note: " + n)
        if self.failures:
            lines.append("FAILED expectations: %d" % len(self.failures))
            lines += ["  " + f for f in self.failures]
        else:
            lines.append("all expectations held")
        return lines


def install_models(storage, src=None):
    """Copy the pinned models into device storage, as an installed image would hold them."""
    src = src or os.path.join(board_mod.ROOT, "models")
    dst = os.path.join(str(storage), "models")
    os.makedirs(dst, exist_ok=True)
    n = 0
    if os.path.isdir(src):
        for f in sorted(os.listdir(src)):
            if f.endswith(".json") or f.endswith(".tflite"):
                shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
                n += 1
    return dst, n


def run(script, write, storage=None, board="sim", audio=None, detector="auto", detector_factory=None,
        boot="auto"):
    """Run a scenario on a fresh sim; returns (ok, scenario)."""
    tmp = None
    if storage is None:
        tmp = tempfile.mkdtemp(prefix="hearth-sim-")
        storage = tmp
    try:
        b = board_mod.load(board, storage=storage)
        if b.kind != "sim":
            raise UsageError("scenarios run on the sim board (got %s)" % b.name)
        models_dir, _ = install_models(b.storage_root)
        app = build(b, audio=audio, detector=detector, detector_factory=detector_factory,
                    models_dir=models_dir, boot=boot)
        sc = Scenario(app, write)
        app.start()
        ok = sc.run_script(script)
        write("")
        for l in sc.summary():
            write(l)
        return ok, sc
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def transcript_to(out):
    """(write, lines) for run(): write(line) keeps the line and, unless the
    CLI output is JSON, prints it as it comes."""
    lines = []

    def write(line):
        lines.append(line)
        if not out.json:
            out.stream.write(line + "\n")
            out.stream.flush()
    return write, lines
