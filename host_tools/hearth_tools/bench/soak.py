"""`hearth bench soak`: an hour of audio through the application loop, as fast as it runs.

The sim board with room noise, a cooking session with door openings, a wake
word every five minutes and a smoke alarm every fifteen (then acknowledged and
cooking restarted), the neural detector when hearth.detect is present.

The loop runs exactly as in production; its cost is the process CPU clock,
so time stolen by other processes on a shared machine does not count. The
detector's share is measured by feeding the very same audio blocks (same
posterior sampling) to a second, fresh detector alone, in step with the loop:
every CHUNK blocks of the loop, those blocks go through the lone detector,
then through a lone alarm listener, so all three see the same machine load.

  loop overhead = loop CPU - detector alone on the same blocks
                  (everything the appliance adds to the detector: capture and
                  the audio health check, the alarm DSP, decide, actuate,
                  stage timing and metrics, and what the detector's cache
                  footprint costs all of that; also the soak's own scenario
                  driver, a few lines per block)

Reported: CPU per audio second, overruns, mode changes, RSS growth after
warm-up (sampled every audio minute), what was detected, and the stage wall
times the loop's own metrics recorded.
"""
import inspect
import os
import resource
import tempfile
import time

from hearth import board as board_mod
from hearth.app import CONTROL_EVERY, build
from hearth.core.alarm import AlarmListener
from hearth.ports.detector import open_detector
from hearth.ports.dsp import tone_analyzer

from .. import benchdoc
from ..scenario import alarm_pattern, synthesize

NAME = "soak"
HELP = "one hour of audio time through the appliance loop: CPU, RSS growth, overruns, mode changes"
RATE = 16000
WARMUP_S = 60.0
CHUNK = 100              # blocks of the loop between two turns of the lone detector


def add_arguments(parser):
    parser.add_argument("--minutes", type=float, default=60.0, help="audio time to run (default 60)")
    parser.add_argument("--no-detector", action="store_true", help="run without the neural detector")


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _Tap:
    """The loop's audio source, keeping the blocks of the current chunk."""

    def __init__(self, src):
        self.src = src
        self.blocks = []

    def read(self, n):
        b = self.src.read(n)
        if b is not None:
            self.blocks.append(b)
        return b

    def inject(self, pcm, replace=False):
        self.src.inject(pcm, replace)


def _lone_detector(app, models_dir):
    """A second detector on the same models, and how to feed it as the loop
    does (posteriors sampled every CONTROL_EVERY blocks)."""
    port, _problems = open_detector(app.model_specs, models_dir, None, app.rate)
    if port is None:
        return None
    if "probs" in inspect.signature(port.feed).parameters:
        return lambda b, t0, i: port.feed(b, t0, i % CONTROL_EVERY == 0)
    # a port without posterior sampling (older firmware) computes them every block
    return lambda b, t0, i: port.feed(b, t0)


def _replay(blocks, first, dt, sink):
    """Process CPU seconds of sink(block, t0, index) over the blocks."""
    c0 = time.process_time()
    for k in range(len(blocks)):
        sink(blocks[k], (first + k) * dt, first + k)
    return time.process_time() - c0


def soak(minutes=60.0, detector=True, progress=None):
    """Run the soak; returns a dict of results."""
    seconds = minutes * 60.0
    with tempfile.TemporaryDirectory(prefix="hearth-soak-") as st:
        b = board_mod.load("sim", storage=st)
        models_dir = os.path.join(board_mod.ROOT, "models")
        app = build(b, detector="auto" if detector else None, boot=None, models_dir=models_dir)
        app.start()
        names = app.detector.names if app.detector is not None else []
        lone = _lone_detector(app, models_dir) if app.detector is not None else None
        # the analyzer the loop runs (native when built), so the figures compare
        listener = AlarmListener(app.rate, analyzer=tone_analyzer(app.rate))
        lone_alarm = lambda blk, t0, i: listener.feed(blk, t0)
        tap = app.audio = _Tap(app.audio)
        wake = {}
        for n, text, opts in (("okay_nabu", "okay nabu", {}), ("hey_jarvis", "hey jarvis",
                              {"voice": "en-us+f4", "speed": 150}), ("hey_mycroft", "hey mycroft", {}),
                              ("alexa", "alexa", {})):
            if n in names:
                wake[n] = synthesize(text, **opts)
        t3 = alarm_pattern("t3", "3k", 2)
        ap = app.appliance
        schedule = []            # (t, action)
        t = 1.0
        while t < seconds:
            schedule.append((t, "start"))
            t += 1.0
            for k in range(3):
                schedule.append((t + 100.0 + k * 250.0, "door open"))
                schedule.append((t + 112.0 + k * 250.0, "door close"))
            t += 899.0
        for k in range(int(seconds // 300)):
            schedule.append((150.0 + 300.0 * k, "wake %d" % k))
        for k in range(int(seconds // 900)):
            schedule.append((880.0 + 900.0 * k, "alarm"))
            schedule.append((895.0 + 900.0 * k, "ack"))
        schedule.sort()
        oven = app.ports["oven"]
        expected_wake = 0
        alarms = 0
        si = 0
        rss = []
        rss0 = None
        next_sample = WARMUP_S
        nblocks = int(round(seconds / app.dt))
        schedule.append((float("inf"), "end"))
        next_at = schedule[0][0]
        cpu = det_cpu = alarm_cpu = 0.0
        first = 0
        wall0 = time.perf_counter()
        cpu0 = time.process_time()
        while app.turns < nblocks:
            if len(tap.blocks) >= CHUNK:
                cpu += time.process_time() - cpu0
                if lone is not None:
                    det_cpu += _replay(tap.blocks, first, app.dt, lone)
                alarm_cpu += _replay(tap.blocks, first, app.dt, lone_alarm)
                first += len(tap.blocks)
                tap.blocks = []
                cpu0 = time.process_time()
            while next_at <= app.t:
                what = schedule[si][1]
                si += 1
                next_at = schedule[si][0]
                if what == "start":
                    ap.press("start", app.t)
                elif what.startswith("door"):
                    oven.door_open = what == "door open"
                elif what.startswith("wake") and wake:
                    clip = list(wake.values())[int(what.split()[1]) % len(wake)]
                    app.audio.inject(clip)
                    expected_wake += 1
                elif what == "alarm":
                    app.audio.inject(t3)
                    alarms += 1
                elif what == "ack":
                    ap.press("stop", app.t)
            app.step()
            if app.t >= next_sample:
                r = _rss_bytes()
                if rss0 is None:
                    rss0 = r
                rss.append(r)
                next_sample += 60.0
                if progress:
                    progress(app.t, seconds)
        cpu += time.process_time() - cpu0
        if lone is not None:
            det_cpu += _replay(tap.blocks, first, app.dt, lone)
        alarm_cpu += _replay(tap.blocks, first, app.dt, lone_alarm)
        wall = time.perf_counter() - wall0
        if hasattr(app, "flush_metrics"):
            app.flush_metrics()
        m = app.metrics
        lat = m.latency
        per_s = 1.0 / app.t
        overhead = cpu - det_cpu
        det = m.detections
        res = {
            "audio_s": app.t, "blocks": m.blocks, "block_ms": b.get("audio.block_ms"),
            "detector": names, "wall_s": wall, "cpu_s": cpu,
            "cpu_ms_per_s": 1e3 * cpu * per_s,
            "detector_ms_per_s": 1e3 * det_cpu * per_s,
            "overhead_ms_per_s": 1e3 * overhead * per_s,
            "alarm_ms_per_s": 1e3 * alarm_cpu * per_s,
            "rest_ms_per_s": 1e3 * (overhead - alarm_cpu) * per_s,
            "stage_wall_us": {s: lat[s].mean() for s in lat},
            "overruns": dict(m.overruns), "mode_changes": app.modes.total,
            "transitions": dict(app.modes.counts),
            "rss_start": rss0, "rss_max_growth": (max(rss) - rss0) if rss else 0,
            "rss_end_growth": (rss[-1] - rss0) if rss else 0,
            "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "wake_expected": expected_wake,
            "wake_detected": sum(det.get(n, 0) for n in names),
            "alarms_played": alarms, "smoke_detected": det.get("smoke_alarm", 0),
            "alarms_raised": m.counters.get("alarm", 0),
            "mode": app.modes.why(),
        }
        return res


def report(r):
    w = r["stage_wall_us"]
    lines = [
        "load average at the end: %.1f (2 cores shared; absolute CPU figures rise with it, ratios less)" % (
            os.getloadavg()[0]),
        "audio: %.0f s (%d blocks of %d ms) on the sim board; detector: %s" % (
            r["audio_s"], r["blocks"], r["block_ms"], ", ".join(r["detector"]) or "none (%s)" % r["mode"]),
        "wall: %.1f s (%.0fx real time)" % (r["wall_s"], r["audio_s"] / r["wall_s"]),
        "CPU per audio second: %.3f ms total (process, the loop as in production)" % r["cpu_ms_per_s"],
        "  detector alone on the same blocks (frontend + models + glue): %.3f ms" % r["detector_ms_per_s"],
        "  loop overhead, everything but the detector: %.3f ms (target < 0.2)" % r["overhead_ms_per_s"],
        "    alarm DSP alone on the same blocks (Goertzel + patterns): %.3f ms" % r["alarm_ms_per_s"],
        "    the rest (capture + health, decide, actuate, timing, metrics, scenario driver): %.3f ms"
        % r["rest_ms_per_s"],
    ]
    if r["detector"] and r["detector_ms_per_s"] > 0:
        lines.append("  overhead / detector: %.1f %%" % (100.0 * r["overhead_ms_per_s"] / r["detector_ms_per_s"]))
    lines.append("stage wall time per block, mean us: " + ", ".join("%s %.1f" % (s, w[s]) for s in w))
    ov = r["overruns"]
    lines += [
        "overruns: %d  (%s)" % (sum(ov.values()), ", ".join("%s %d" % (k, ov[k]) for k in sorted(ov))),
        "mode changes: %d%s" % (r["mode_changes"], (" " + str(r["transitions"])) if r["transitions"] else ""),
        ("RSS after %.0f s warm-up: %.1f MB; max growth over the run %.3f MB (end %.3f MB); target < 1 MB" % (
            WARMUP_S, r["rss_start"] / 2**20, r["rss_max_growth"] / 2**20, r["rss_end_growth"] / 2**20))
        if r["rss_start"] is not None else "RSS: run shorter than the %.0f s warm-up" % WARMUP_S,
        "events: wake words %d/%d detected; smoke alarms raised %d/%d (%d temporal-3 cycles matched)" % (
            r["wake_detected"], r["wake_expected"], r["alarms_raised"], r["alarms_played"],
            r["smoke_detected"]),
    ]
    return "\n".join(lines)


def run(args, out):
    prog = None
    if out.tty and not out.json:
        prog = lambda t, total: out.err.write("\rsoak: %5.0f / %.0f s audio" % (t, total)) or out.err.flush()
    r = soak(args.minutes, detector=not args.no_detector, progress=prog)
    if prog:
        out.err.write("\n")
    text = report(r)
    out.data(r, text)
    if getattr(args, "write_doc", False):
        cmd = "hearth bench soak" + (" --minutes %g" % args.minutes if args.minutes != 60.0 else "") + \
              (" --no-detector" if args.no_detector else "")
        benchdoc.write_section(NAME, cmd, text)
    return r
