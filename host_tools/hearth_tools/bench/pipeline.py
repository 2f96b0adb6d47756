"""`hearth bench pipeline`: CPU time per second of audio, wake-word pipelines.

hearth (C frontend + C runtime, one call per 100 ms block) with one model and
with all four models on one frontend, against pymicro-wakeword (TFLM
frontend via pymicro-features, TFLite C kernels, numpy smoothing) with one
model and with four pipelines; and the frontends alone (ours vs
pymicro-features, per 10 ms vector). Every figure is the median of repeated
runs over the same spoken test stream, measured in this one process.
"""
import statistics
import time

import numpy as np

NAME = "pipeline"
HELP = "CPU per second of audio: hearth detector vs pymicro-wakeword; frontend vs pymicro-features"
MODELS = ["okay_nabu", "hey_jarvis", "hey_mycroft", "alexa"]
BLOCK = 1600          # 100 ms: how an appliance hands audio to the detector


def add_arguments(p):
    p.add_argument("--seconds", type=float, default=20.0, help="length of the test stream")
    p.add_argument("--repeats", type=int, default=5, help="timed runs (the median is reported)")


def test_stream(seconds):
    """Speech (the four wake words, other phrases) in light noise, looped."""
    from hearth_tools import speech

    parts = [speech.corpus_clip(t, voice=v, speed=160, snr_db=20, seed=i)
             for i, (t, v) in enumerate([("okay nabu", "en-us"), ("hey jarvis", "en-us+f3"),
                                         ("what time is it", "en-gb"),
                                         ("hey mycroft", "en-gb"), ("alexa", "en-us"),
                                         ("turn the oven off", "en-us+f4")])]
    one = speech.concat(*parts)
    reps = int(np.ceil(seconds * 16000 / len(one)))
    return np.tile(one, reps)[: int(seconds * 16000)]


def cpu_median(fn, repeats):
    """Median CPU seconds (process time: all threads) of fn() over repeats."""
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


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
    res = {"audio_seconds": audio_s, "repeats": repeats}

    def hearth_run(names):
        det = Detector(names)

        def run():
            det.reset()
            for b in blocks:
                det.feed(b)
        return run

    def pymicro_run(names):
        pipes = [(MicroWakeWordFeatures(), MicroWakeWord.from_builtin(Model(n))) for n in names]

        def run():
            for feats, mww in pipes:
                feats.reset()
                mww._features.clear()
                mww._probabilities.clear()
            for b in byte_blocks:
                for feats, mww in pipes:
                    for f in feats.process_streaming(b):
                        mww.process_streaming(f)
        return run

    cases = [("hearth_1", hearth_run(MODELS[:1])), ("hearth_4", hearth_run(MODELS)),
             ("pymicro_1", pymicro_run(MODELS[:1])), ("pymicro_4", pymicro_run(MODELS))]
    for key, fn in cases:
        fn()                                   # warm up (caches, lazy init)
        res[key + "_ms_per_s"] = cpu_median(fn, repeats) / audio_s * 1e3

    # frontends alone, per output vector
    fe = Frontend()
    n_frames = len(fe.process(pcm))

    def ours():
        fe.reset()
        for b in blocks:
            fe.process(b)

    chunks = [pcm[i:i + 160].tobytes() for i in range(0, len(pcm) - 159, 160)]

    def theirs():
        mf = MicroFrontend()
        for c in chunks:
            mf.process_samples(c)

    for key, fn in (("frontend_hearth", ours), ("frontend_pymicro", theirs)):
        fn()
        res[key + "_us_per_frame"] = cpu_median(fn, repeats) / n_frames * 1e6
    res["frames"] = n_frames
    # pure C figure for the frontend (no Python per block)
    x = np.ascontiguousarray(pcm)

    def ours_one_call():
        fe.reset()
        fe.process(x)
    res["frontend_hearth_c_us_per_frame"] = cpu_median(ours_one_call, repeats) / n_frames * 1e6

    res["ratio_pymicro_over_hearth_1"] = res["pymicro_1_ms_per_s"] / res["hearth_1_ms_per_s"]
    res["ratio_hearth_4_over_1"] = res["hearth_4_ms_per_s"] / res["hearth_1_ms_per_s"]
    res["ratio_pymicro_over_hearth_4"] = res["pymicro_4_ms_per_s"] / res["hearth_4_ms_per_s"]
    res["ratio_frontend_pymicro_over_hearth"] = (res["frontend_pymicro_us_per_frame"] /
                                                 res["frontend_hearth_us_per_frame"])
    return res


def report(r):
    lines = [
        "audio: %.1f s of speech in noise, fed in 100 ms blocks; median of %d runs; CPU time"
        % (r["audio_seconds"], r["repeats"]),
        "",
        "%-44s %10s" % ("pipeline", "ms CPU / s audio"),
        "%-44s %10.3f" % ("hearth, 1 model (okay_nabu)", r["hearth_1_ms_per_s"]),
        "%-44s %10.3f" % ("hearth, 4 models on one frontend", r["hearth_4_ms_per_s"]),
        "%-44s %10.3f" % ("pymicro-wakeword, 1 model", r["pymicro_1_ms_per_s"]),
        "%-44s %10.3f" % ("pymicro-wakeword, 4 pipelines", r["pymicro_4_ms_per_s"]),
        "",
        "%-44s %10s" % ("frontend", "us / vector"),
        "%-44s %10.3f" % ("hearth (100 ms blocks from Python)", r["frontend_hearth_us_per_frame"]),
        "%-44s %10.3f" % ("hearth (one C call for the stream)", r["frontend_hearth_c_us_per_frame"]),
        "%-44s %10.3f" % ("pymicro-features (10 ms chunks)", r["frontend_pymicro_us_per_frame"]),
        "",
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
    out.data(r, text)
    if getattr(args, "write_doc", False):
        from ..benchdoc import write_section
        write_section(NAME, "hearth bench pipeline", text)
