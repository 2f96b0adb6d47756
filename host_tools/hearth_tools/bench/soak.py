"""`hearth bench soak`: an hour of audio through the application loop, as fast as it runs.

The sim board with room noise, a cooking session with door openings, a wake
word every five minutes and a smoke alarm every fifteen (then acknowledged and
cooking restarted), the neural detector when hearth.detect is present.

The loop runs as in production (its stage timer is the cheap monotonic
clock). CPU is measured, not wall time, so time stolen by other processes on
a shared machine does not count: the process CPU clock over the whole run,
and the thread CPU clock around the two DSP calls, the detector (frontend +
models + their Python glue) and the alarm listener (Goertzel + patterns):

  loop overhead = process CPU - detector - the thread-clock reads themselves
                  (everything but the detector: capture incl. the audio health
                  check, alarm DSP, decide, actuate, stage timing and metrics;
                  also the soak's own scenario driver, a few lines per block)

Reported: CPU per audio second (total and per part, and the overhead as a
fraction of the detector it serves), overruns, mode changes, RSS growth after
warm-up (sampled every audio minute), and what was detected.
"""
import os
import resource
import tempfile
import time


from hearth import board as board_mod
from hearth.app import build

from .. import benchdoc
from ..scenario import alarm_pattern, synthesize

NAME = "soak"
HELP = "one hour of audio time through the appliance loop: CPU, RSS growth, overruns, mode changes"
RATE = 16000
WARMUP_S = 60.0


def add_arguments(parser):
    parser.add_argument("--minutes", type=float, default=60.0, help="audio time to run (default 60)")
    parser.add_argument("--no-detector", action="store_true", help="run without the neural detector")


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _CpuTimed:
    """Wraps the detector port or the alarm listener: thread CPU around feed()."""

    def __init__(self, inner, clock=time.thread_time):
        self._inner = inner
        self._clock = clock
        self.cpu = 0.0
        self.calls = 0

    def feed(self, *args):
        c = self._clock
        a = c()
        r = self._inner.feed(*args)
        self.cpu += c() - a
        self.calls += 1
        return r

    def __getattr__(self, name):          # names, probs, pause, feature_mean, ...
        return getattr(self._inner, name)


def _timer_cost(timer, n=20000):
    """CPU seconds one call of the stage timer costs (it is inside every stage time)."""
    t0 = time.process_time()
    for _ in range(n):
        timer()
    return (time.process_time() - t0) / n


def soak(minutes=60.0, detector=True, progress=None):
    """Run the soak; returns a dict of results."""
    seconds = minutes * 60.0
    with tempfile.TemporaryDirectory(prefix="hearth-soak-") as st:
        b = board_mod.load("sim", storage=st)
        app = build(b, detector="auto" if detector else None, boot=None,
                    models_dir=os.path.join(board_mod.ROOT, "models"))
        tcost = _timer_cost(time.thread_time)
        app.start()
        names = app.detector.names if app.detector is not None else []
        det_t = app.detector = _CpuTimed(app.detector) if app.detector is not None else None
        alarm_t = app.alarm = _CpuTimed(app.alarm)
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
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        nblocks = int(round(seconds / app.dt))
        while app.turns < nblocks:
            while si < len(schedule) and schedule[si][0] <= app.t:
                what = schedule[si][1]
                si += 1
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
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        if hasattr(app, "flush_metrics"):
            app.flush_metrics()
        m = app.metrics
        lat = m.latency
        per_s = 1.0 / app.t
        det_cpu = det_t.cpu if det_t is not None else 0.0
        # each wrapped call reads the thread clock twice; about one read's cost
        # lands inside the interval it measures
        reads = 2 * ((det_t.calls if det_t is not None else 0) + alarm_t.calls)
        instr = reads * tcost
        det_in = (det_t.calls if det_t is not None else 0) * tcost
        alarm_cpu = max(0.0, alarm_t.cpu - alarm_t.calls * tcost)
        overhead = cpu - det_cpu - (instr - det_in)
        det = m.detections
        res = {
            "audio_s": app.t, "blocks": m.blocks, "block_ms": b.get("audio.block_ms"),
            "detector": names, "wall_s": wall, "cpu_s": cpu,
            "cpu_ms_per_s": 1e3 * cpu * per_s,
            "detector_ms_per_s": 1e3 * det_cpu * per_s,
            "overhead_ms_per_s": 1e3 * overhead * per_s,
            "alarm_ms_per_s": 1e3 * alarm_cpu * per_s,
            "rest_ms_per_s": 1e3 * (overhead - alarm_cpu) * per_s,
            "instrument_ms_per_s": 1e3 * instr * per_s,
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
        "CPU per audio second: %.3f ms total (process)" % r["cpu_ms_per_s"],
        "  detector (frontend + models + glue): %.3f ms" % r["detector_ms_per_s"],
        "  loop overhead, everything but the detector: %.3f ms (target < 0.2)" % r["overhead_ms_per_s"],
        "    alarm DSP (Goertzel + patterns): %.3f ms" % r["alarm_ms_per_s"],
        "    capture + health, decide, actuate, timing and metrics, scenario driver: %.3f ms" % r["rest_ms_per_s"],
        "  thread-clock reads of this measurement (excluded above): %.3f ms" % r["instrument_ms_per_s"],
    ]
    if r["detector"] and r["detector_ms_per_s"] > 0:
        lines.append("  overhead / detector: %.1f %%" % (100.0 * r["overhead_ms_per_s"] / r["detector_ms_per_s"]))
    lines.append("stage wall time per block, mean us: " + ", ".join("%s %.1f" % (s, w[s]) for s in w))
    ov = r["overruns"]
    lines += [
        "overruns: %d  (%s)" % (sum(ov.values()), ", ".join("%s %d" % (k, ov[k]) for k in sorted(ov))),
        "mode changes: %d%s" % (r["mode_changes"], (" " + str(r["transitions"])) if r["transitions"] else ""),
        "RSS after %.0f s warm-up: %.1f MB; max growth over the run %.3f MB (end %.3f MB); target < 1 MB" % (
            WARMUP_S, r["rss_start"] / 2**20, r["rss_max_growth"] / 2**20, r["rss_end_growth"] / 2**20),
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
