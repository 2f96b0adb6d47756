"""`hearth detect FILE.wav|-... [--model NAME]...`: wake words in recordings.

One line per detection: `FILE  T s  MODEL  p=P`; with --json one object per
line: {"file", "model", "t" (seconds), "p" (probability)}. `-` reads a WAV
from stdin. Each file starts from a fresh detector state without the
start-up refractory period (a file is not a reboot: its word may be in its
first second); the period after a detection still applies. When nothing
fired, one line says so on stderr. Files that cannot be read get one error
line on stderr (and a JSON object with --json) and exit code 2; the other
files are still processed.
"""
import sys

from ..errors import EXIT_USAGE, UsageError

NAME = "detect"
HELP = "detect wake words in WAV files (any rate, width, channels; - for stdin)"


def add_arguments(parser):
    parser.add_argument("files", nargs="+", metavar="FILE.wav", help="WAV files to scan (- for stdin)")
    parser.add_argument("--model", "-m", action="append", metavar="NAME",
                        help="model name (models/NAME.json) or path to a microWakeWord "
                             "JSON manifest; repeatable (default: every model found)")
    parser.add_argument("--steps", action="store_true",
                        help="also print every model step's raw output (diagnostics)")


def _source(path):
    return sys.stdin.buffer if path == "-" else path


def detect_file(detector, path):
    """Library entry: the Events of one WAV file (from a fresh state, no
    start-up refractory period)."""
    from ..audio_io import read_wav

    pcm, _ = read_wav(_source(path))
    detector.reset(refractory=False)
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

    if args.files.count("-") > 1:
        raise UsageError("stdin (-) can be read only once")
    det = load_detector(args.model)
    failed, scanned, fired = 0, [], 0
    for path in args.files:
        try:
            pcm, _ = read_wav(_source(path))
        except AudioError as e:
            out.fail(str(e), EXIT_USAGE, extra={"file": path})
            failed += 1
            continue
        scanned.append(path)
        det.reset(refractory=False)
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
        fired += len(events)
        for e in events:
            out.data({"file": path, "model": e.model, "t": round(e.t, 4), "p": round(e.p, 4)},
                     "%s  %8.3f s  %-14s p=%.3f" % (path, e.t, e.model, e.p))
    if scanned and not fired:
        out.info("in %s (models: %s)" % (scanned[0] if len(scanned) == 1 else "%d files" % len(scanned),
                                         ", ".join(det.names)), "hearth: no wake word", "yellow")
    return EXIT_USAGE if failed else 0
