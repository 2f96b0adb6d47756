"""`hearth bench soak`: an hour of audio through the application loop, as fast as it runs.

The sim board with room noise, a cooking session with door openings, a wake
word every five minutes and a smoke alarm every fifteen (then acknowledged and
cooking restarted), the neural detector when hearth.detect is present.

The loop runs exactly as in production, with nothing added inside it; its
cost is the process CPU clock over the run, so time stolen by other
processes on a shared machine does not count. The detector's share is
measured by replaying the very same audio blocks (same injections at the
same blocks, same posterior sampling) through a fresh detector alone:

  loop overhead = loop CPU - detector alone on the same audio
                  (everything the appliance adds to the detector: capture and
                  the audio health check, the alarm DSP, decide, actuate,
                  stage timing and metrics, and what the detector's cache
                  footprint costs all of that; also the soak's own scenario
                  driver, a few lines per block)

The alarm DSP is replayed alone the same way, for the breakdown. Reported:
CPU per audio second, overruns, mode changes, RSS growth after warm-up
(sampled every audio minute), what was detected, and the stage wall times
the loop's own metrics recorded.
"""
import inspect
import os
import resource
import tempfile
import time

from hearth import board as board_mod
from hearth.app import CONTROL_EVERY, build
from hearth.core.alarm import AlarmListener
from hearth.ports import audio as audio_mod
from hearth.ports.detector import open_detector
from hearth.ports.dsp import NumpyToneAnalyzer

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


def _replay(nblocks, n, injections, rate, sink=None):
    """Process CPU seconds to regenerate the loop's audio blocks (the sim's
    room noise plus the same injections at the same blocks) and hand each to
    `sink(block, t0, index)`."""
    mixer = audio_mod.Mixer(audio_mod.open_source("room", rate), rate)
    todo = list(injections)
    todo.reverse()
    t0 = 0.0
    c0 = time.process_time()
    for i in range(nblocks):
        while todo and todo[-1][0] == i:
            mixer.inject(todo.pop()[1])
        block = mixer.read(n)
        if sink is not None:
            sink(block, t0, i)
        t0 += len(block) / float(rate)
    return time.process_time() - c0


def _detector_alone(app, models_dir, nblocks, injections):
    """CPU seconds of a fresh detector fed the loop's blocks, sampling the
    posteriors as the loop does (every CONTROL_EVERY blocks)."""
    port, _problems = open_detector(app.model_specs, models_dir, None, app.rate)
    if port is None:
        return None
    feed = port.feed
    if "probs" in inspect.signature(feed).parameters:
        return _replay(nblocks, app.n, injections, app.rate,
                       lambda b, t0, i: feed(b, t0, i % CONTROL_EVERY == 0))
    # a port without posterior sampling (older firmware) computes them every block
    return _replay(nblocks, app.n, injections, app.rate, lambda b, t0, i: feed(b, t0))


def soak(minutes=60.0, detector=True, progress=None):
    """Run the soak; returns a dict of results."""
    seconds = minutes * 60.0
    with tempfile.TemporaryDirectory(prefix="hearth-soak-") as st:
        b = board_mod.load("sim", storage=st)
        models_dir = os.path.join(board_mod.ROOT, "models")
        app = build(b, detector="auto" if detector else None, boot=None, models_dir=models_dir)
        app.start()
        names = app.detector.names if app.detector is not None else []
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
        injections = []          # (block index, clip): to replay the same audio
        expected_wake = 0
        alarms = 0
        si = 0
        rss = []
        rss0 = None
        next_sample = WARMUP_S
        nblocks = int(round(seconds / app.dt))
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
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
                    injections.append((app.turns, clip))
                    expected_wake += 1
                elif what == "alarm":
                    app.audio.inject(t3)
                    injections.append((app.turns, t3))
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

        # the same blocks again: the audio alone, the detector alone, the alarm DSP alone
        base = _replay(nblocks, app.n, injections, app.rate)
        det_cpu = 0.0
        if app.detector is not None:
            d = _detector_alone(app, models_dir, nblocks, injections)
            det_cpu = max(0.0, d - base) if d is not None else 0.0
        listener = AlarmListener(app.rate, analyzer=NumpyToneAnalyzer(app.rate))
        alarm_cpu = max(0.0, _replay(nblocks, app.n, injections, app.rate,
                                     lambda blk, t0, i: listener.feed(blk, t0)) - base)
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
            "audio_replay_ms_per_s": 1e3 * base * per_s,
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
