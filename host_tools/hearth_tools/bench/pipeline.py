"""`hearth bench pipeline`: CPU time per second of audio, wake-word pipelines.

hearth (C frontend + C runtime, one call per 100 ms block) with one model and
with all four models on one frontend, against pymicro-wakeword (TFLM
frontend via pymicro-features, TFLite C kernels, numpy smoothing) with one
model and with its four models fed from one frontend (features computed once
and handed to each model, as hearth does); and the frontends alone (ours vs
pymicro-features, per 10 ms vector). All cases run over the same spoken test
stream in this one process and take turns within every repeat (the order
rotating), so a change in machine load hits them alike; each figure is the
median over the repeats with p10/p90, next to the load average.
"""
import time

import numpy as np

from . import _util

NAME = "pipeline"
HELP = "CPU per second of audio: hearth detector vs pymicro-wakeword; frontend vs pymicro-features"
MODELS = ["okay_nabu", "hey_jarvis", "hey_mycroft", "alexa"]
BLOCK = 1600          # 100 ms: how an appliance hands audio to the detector


def add_arguments(p):
    p.add_argument("--seconds", type=float, default=20.0, help="length of the test stream")
    p.add_argument("--repeats", type=int, default=5, help="timed runs of every case, interleaved "
                   "(median, p10 and p90 are reported)")


def test_stream(seconds):
    """Speech (the four wake words, other phrases) in light noise, looped."""
    from hearth_tools.testing import speech

    parts = [speech.corpus_clip(t, voice=v, speed=160, snr_db=20, seed=i)
             for i, (t, v) in enumerate([("okay nabu", "en-us"), ("hey jarvis", "en-us+f3"),
                                         ("what time is it", "en-gb"),
                                         ("hey mycroft", "en-gb"), ("alexa", "en-us"),
                                         ("turn the oven off", "en-us+f4")])]
    one = speech.concat(*parts)
    reps = int(np.ceil(seconds * 16000 / len(one)))
    return np.tile(one, reps)[: int(seconds * 16000)]


def _blocks(pcm, size):
    return [pcm[i:i + size] for i in range(0, len(pcm), size)]


def measure(seconds, repeats):
    from pymicro_features import MicroFrontend
    from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

    from hearth.detect import Detector
    from hearth.frontend import Frontend

    pcm = test_stream(seconds)
    audio_s = len(pcm) / 16000.0
    blocks = _blocks(pcm, BLOCK)
    byte_blocks = [b.tobytes() for b in blocks]
    res = {"audio_seconds": audio_s, "repeats": repeats, "load_start": _util.load_average()}

    def hearth_run(names):
        det = Detector(names)

        def run():
            det.reset()
            for b in blocks:
                det.feed(b)
        return run

    def pymicro_run(names):
        # one frontend; each feature vector goes to every model
        feats = MicroWakeWordFeatures()
        models = [MicroWakeWord.from_builtin(Model(n)) for n in names]

        def run():
            feats.reset()
            for mww in models:
                mww._features.clear()
                mww._probabilities.clear()
            for b in byte_blocks:
                for f in feats.process_streaming(b):
                    for mww in models:
                        mww.process_streaming(f)
        return run

    fe = Frontend()
    n_frames = len(fe.process(pcm))
    x = np.ascontiguousarray(pcm)

    def frontend_blocks():
        fe.reset()
        for b in blocks:
            fe.process(b)

    def frontend_one_call():            # pure C figure (no Python per block)
        fe.reset()
        fe.process(x)

    chunks = [pcm[i:i + 160].tobytes() for i in range(0, len(pcm) - 159, 160)]

    def frontend_pymicro():
        mf = MicroFrontend()
        for c in chunks:
            mf.process_samples(c)

    # (key, fn, unit divisor): pipelines per audio second, frontends per vector
    cases = [("hearth_1_ms_per_s", hearth_run(MODELS[:1]), audio_s / 1e3),
             ("hearth_4_ms_per_s", hearth_run(MODELS), audio_s / 1e3),
             ("pymicro_1_ms_per_s", pymicro_run(MODELS[:1]), audio_s / 1e3),
             ("pymicro_4_ms_per_s", pymicro_run(MODELS), audio_s / 1e3),
             ("frontend_hearth_us_per_frame", frontend_blocks, n_frames / 1e6),
             ("frontend_hearth_c_us_per_frame", frontend_one_call, n_frames / 1e6),
             ("frontend_pymicro_us_per_frame", frontend_pymicro, n_frames / 1e6)]
    for _, fn, _ in cases:
        fn()                                   # warm up (caches, lazy init)
    times = _util.interleaved_times([(lambda _n, fn=fn: fn(), 1) for _, fn, _ in cases], repeats,
                                    clock=time.process_time)
    for (key, _, per), t in zip(cases, times):
        spread = _util.percentiles([v / per for v in t])
        res[key] = spread["p50"]
        res[key + "_p10"], res[key + "_p90"] = spread["p10"], spread["p90"]
    res["frames"] = n_frames
    res["load_end"] = _util.load_average()

    res["ratio_pymicro_over_hearth_1"] = res["pymicro_1_ms_per_s"] / res["hearth_1_ms_per_s"]
    res["ratio_hearth_4_over_1"] = res["hearth_4_ms_per_s"] / res["hearth_1_ms_per_s"]
    res["ratio_pymicro_over_hearth_4"] = res["pymicro_4_ms_per_s"] / res["hearth_4_ms_per_s"]
    res["ratio_frontend_pymicro_over_hearth"] = (res["frontend_pymicro_us_per_frame"] /
                                                 res["frontend_hearth_us_per_frame"])
    return res


def _row(label, r, key):
    return "%-44s %10.3f %9.3f %9.3f" % (label, r[key], r[key + "_p10"], r[key + "_p90"])


def report(r):
    lines = [
        "load average (1 min): %.2f at the start, %.2f at the end (2 cores shared)"
        % (r["load_start"], r["load_end"]),
        "audio: %.1f s of speech in noise, fed in 100 ms blocks; %d interleaved runs of every "
        "case; CPU time (process)" % (r["audio_seconds"], r["repeats"]),
        "",
        "%-44s %10s %9s %9s" % ("pipeline, ms CPU / s audio", "median", "p10", "p90"),
        _row("hearth, 1 model (okay_nabu)", r, "hearth_1_ms_per_s"),
        _row("hearth, 4 models on one frontend", r, "hearth_4_ms_per_s"),
        _row("pymicro-wakeword, 1 model", r, "pymicro_1_ms_per_s"),
        _row("pymicro-wakeword, 4 models on one frontend", r, "pymicro_4_ms_per_s"),
        "",
        "%-44s %10s %9s %9s" % ("frontend, us / vector", "median", "p10", "p90"),
        _row("hearth (100 ms blocks from Python)", r, "frontend_hearth_us_per_frame"),
        _row("hearth (one C call for the stream)", r, "frontend_hearth_c_us_per_frame"),
        _row("pymicro-features (10 ms chunks)", r, "frontend_pymicro_us_per_frame"),
        "",
        "ratios of the medians:",
        "one model: pymicro-wakeword / hearth      = %5.2fx  (goal >= 5x)"
        % r["ratio_pymicro_over_hearth_1"],
        "four models / one model (hearth)          = %5.2fx  (goal <= 2x)"
        % r["ratio_hearth_4_over_1"],
        "four: pymicro-wakeword / hearth           = %5.2fx" % r["ratio_pymicro_over_hearth_4"],
        "frontend: pymicro-features / hearth       = %5.2fx  (goal >= 2x)"
        % r["ratio_frontend_pymicro_over_hearth"],
    ]
    return "\n".join(lines)


def run(args, out):
    r = measure(args.seconds, args.repeats)
    text = report(r)
    cmd = "hearth bench pipeline" + ("" if (args.seconds, args.repeats) == (20.0, 5) else
                                     " --seconds %g --repeats %d" % (args.seconds, args.repeats))
    from ..benchdoc import emit_rows
    emit_rows(out, args, NAME, cmd + " --write-doc", [r], text)
    return r
