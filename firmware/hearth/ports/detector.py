"""The neural detector behind a small port, so the loop runs without it.

`open_detector` verifies each model (file present, sha256 as pinned in its
manifest) before the runtime sees it, then builds `hearth.detect.Detector`
from the models that passed. Everything that can go wrong comes back as a
list of (cause, detail) for the mode manager instead of an exception: no
runtime -> "runtime missing", a missing file -> "model missing", a bad hash
-> "model hash", the runtime refusing -> "runtime failed". Tests inject a
fake detector class through `factory`.
"""
import json
import os

from ..core import causes as C
from ..model_manifest import ModelHashError, check_model_hash


def model_name(spec):
    base = os.path.basename(str(spec))
    for ext in (".json", ".tflite"):
        if base.endswith(ext):
            return base[: -len(ext)]
    return base


def resolve(spec, models_dir):
    """A model name ('okay_nabu') or a manifest/tflite path -> manifest path."""
    spec = str(spec)
    if os.sep in spec or spec.endswith(".json") or spec.endswith(".tflite"):
        return spec
    return os.path.join(models_dir, spec + ".json")


def verify_model(path):
    """(cause, detail) if the model cannot be trusted, else None."""
    name = model_name(path)
    if not os.path.exists(path):
        return (C.MODEL_MISSING, "%s: %s not found" % (name, path))
    if not path.endswith(".json"):
        return None                       # a bare .tflite has no pinned hash
    try:
        with open(path, encoding="utf-8") as f:
            man = json.load(f)
    except (OSError, ValueError) as e:
        return (C.MODEL_MISSING, "%s: unreadable manifest (%s)" % (name, e))
    if not isinstance(man, dict) or not isinstance(man.get("model"), str):
        return (C.MODEL_MISSING, "%s: manifest names no model file" % name)
    tfl = os.path.join(os.path.dirname(path), man["model"])
    try:
        with open(tfl, "rb") as f:
            data = f.read()
    except OSError:
        return (C.MODEL_MISSING, "%s: %s not found" % (name, tfl))
    try:
        check_model_hash(data, man.get("sha256"), name, os.path.basename(tfl))
    except ModelHashError as e:
        return (C.MODEL_HASH, str(e))
    return None


def _field(ev, names, default=None):
    for n in names:
        if isinstance(ev, dict):
            if n in ev:
                return ev[n]
        elif hasattr(ev, n):
            return getattr(ev, n)
    return default


def normalize(ev):
    """An event from the detector (tuple, dict or object) -> (name, t, p)."""
    if isinstance(ev, (tuple, list)):
        return (str(ev[0]), float(ev[1]), float(ev[2]))
    name = _field(ev, ("model", "name", "wake_word"))
    t = _field(ev, ("t", "time", "timestamp"), 0.0)
    p = _field(ev, ("p", "probability", "prob"), 1.0)
    return (model_name(name), float(t), float(p))


# After a (re)start the frontend's noise estimate starts from zero: the first
# second or so of features runs several times higher than the steady state
# (a quiet room: 253, 77, then ~40 per half second). The quality monitor
# sees no feature mean from a summary that reaches back before this much
# audio went in.
FEATURE_WARMUP_S = 2.0


class DetectorPort:
    """feed(block, t0) -> [(name, t, p)] with t on the application's clock;
    quality() -> (peaks, feature_mean) since the last call, for the loop's
    quality monitor (None, None when the detector cannot tell)."""

    def __init__(self, detector, names, rate=16000):
        self.det = detector
        self.names = list(names)
        self.rate = rate
        self.fed = 0                 # samples given to the detector since its (re)start
        self.paused = False
        self._quality = getattr(detector, "quality", None)
        self._read_at = 0            # self.fed at the last quality() read

    def feed(self, block, t0):
        if self.paused:
            # Streaming state is stale after a pause (SAFE mode skipped audio):
            # restart the detector, and its clock with it.
            reset = getattr(self.det, "reset", None)
            if reset is not None:
                reset()
                self.fed = 0
                self._read_at = 0
            self.paused = False
        fed = self.fed
        self.fed = fed + len(block)
        evs = self.det.feed(block)
        if not evs:
            return ()
        start = fed / float(self.rate)
        out = []
        for ev in evs:
            name, t, p = normalize(ev)
            out.append((name, t0 + (t - start), p))
        return out

    def pause(self):
        self.paused = True

    def quality(self):
        """(highest window-mean posterior per model, mean feature value) since
        the last call; (None, None) from a detector that does not report them."""
        q = self._quality
        if q is None:
            return None, None
        peaks, feature_mean, frames = q()
        since, self._read_at = self._read_at, self.fed
        if since < FEATURE_WARMUP_S * self.rate:
            feature_mean = None     # the summary reaches back into the frontend's warm-up
        return (peaks if frames else None), feature_mean


def open_detector(specs, models_dir, factory=None, rate=16000):
    """-> (DetectorPort or None, [(cause, detail)])."""
    problems = []
    good = []
    for spec in specs:
        path = resolve(spec, models_dir)
        bad = verify_model(path)
        if bad:
            problems.append(bad)
        else:
            good.append(path)
    if factory is None:
        try:
            from ..detect import Detector as factory
        except Exception as e:      # ImportError, or the native module failing to load
            problems.append((C.RUNTIME_MISSING, "hearth.detect: %s" % e))
            return None, problems
    if not good:
        return None, problems
    try:
        det = factory(good)
    except Exception as e:
        problems.append((C.RUNTIME_FAILED, "%s: %s" % (type(e).__name__, e)))
        return None, problems
    return DetectorPort(det, [model_name(p) for p in good], rate), problems
