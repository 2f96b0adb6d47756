"""`hearth detect FILE.wav... [--model NAME]...`: wake words in recordings.

One line per detection: `FILE  T s  MODEL  p=P`; with --json one object per
line: {"file", "model", "t" (seconds), "p" (probability)}. Each file starts
from a fresh detector state. Files that cannot be read get one error line on
stderr and exit code 2; the other files are still processed.
"""
from ..errors import EXIT_USAGE, UsageError

NAME = "detect"
HELP = "detect wake words in WAV files (any rate, width, channels)"


def add_arguments(parser):
    parser.add_argument("files", nargs="+", metavar="FILE.wav", help="WAV files to scan")
    parser.add_argument("--model", "-m", action="append", metavar="NAME",
                        help="model name (models/NAME.json) or path to a microWakeWord "
                             "JSON manifest; repeatable (default: every model found)")
    parser.add_argument("--steps", action="store_true",
                        help="also print every model step's raw output (diagnostics)")


def detect_file(detector, path):
    """Library entry: the Events of one WAV file (from a fresh state)."""
    from ..audio_io import read_wav

    pcm, _ = read_wav(path)
    detector.reset()
    return detector.feed(pcm)


def load_detector(models):
    from hearth.detect import Detector, DetectorError
    from hearth.model_manifest import ManifestError, available

    names = models or available()
    if not names:
        raise UsageError("no wake-word models found: run `make models` or pass --model PATH.json")
    try:
        return Detector(names)
    except (ManifestError, DetectorError) as e:
        raise UsageError(str(e)) from None


def run(args, out):
    from ..audio_io import AudioError, read_wav

    det = load_detector(args.model)
    failed = 0
    for path in args.files:
        try:
            pcm, _ = read_wav(path)
        except AudioError as e:
            out.info("hearth: error: %s" % e)
            failed += 1
            continue
        det.reset()
        if args.steps:
            events, steps = det.feed(pcm, steps=True)
            for s in steps:
                out.data({"file": path, "step": int(s["frame"]),
                          "model": det.names[int(s["model"])], "output": int(s["output"]),
                          "probability": float(s["probability"]),
                          "mean": None if s["mean"] < 0 else float(s["mean"])},
                         "%s  step %d  %s  out=%d  p=%.4f" % (
                             path, s["frame"], det.names[int(s["model"])], s["output"],
                             s["probability"]))
        else:
            events = det.feed(pcm)
        for e in events:
            out.data({"file": path, "model": e.model, "t": round(e.t, 4), "p": round(e.p, 4)},
                     "%s  %8.3f s  %-14s p=%.3f" % (path, e.t, e.model, e.p))
    return EXIT_USAGE if failed else 0
