"""Wake-word model manifests: microWakeWord v1/v2 JSON and Hearth's own.

A manifest names a .tflite model and the parameters that turn its per-step
outputs into decisions:

    {"type": "micro", "wake_word": "Okay Nabu", "model": "okay_nabu.tflite",
     "version": 2,
     "micro": {"probability_cutoff": 0.85, "sliding_window_size": 5,
               "feature_step_size": 10, "tensor_arena_size": 37000}}

That is the microWakeWord v2 format ESPHome users already have for their own
models (v1 spelled the window "sliding_window_average_size"). Hearth's
manifests in models/ are the same document plus fields such as "sha256"
(of the model file; checked when present), "source", "licence" and the
feature schema. Optional Hearth extension: "micro": {"refractory_steps": N}
(feature steps of 10 ms ignored after a detection; ESPHome's 100 if absent).

"model" is resolved relative to the JSON file. Names ("okay_nabu") are looked
up as NAME.json in: $HEARTH_MODELS (os.pathsep-separated), the repository's
models/ directory, and the models shipped with the pymicro-wakeword package.
"""
import hashlib
import json
import os

__all__ = ["ManifestError", "ModelHashError", "WakeWordManifest", "load_manifest", "resolve",
           "search_paths", "available", "check_model_hash", "DEFAULT_REFRACTORY_STEPS"]

DEFAULT_REFRACTORY_STEPS = 100     # ESPHome micro_wake_word MIN_SLICES_BEFORE_DETECTION
FEATURE_STEP_MS = 10               # the only step our frontend (and ESPHome) produces


class ManifestError(ValueError):
    """A manifest that cannot be used; the message says which file and why."""


class ModelHashError(ManifestError):
    """The model file does not match the sha256 its manifest pins (or the pin is no sha256)."""


_HEX = "0123456789abcdefABCDEF"


def _bad_pin(pinned, model_file):
    if not isinstance(pinned, str) or len(pinned) != 64 or any(c not in _HEX for c in pinned):
        return "sha256 must be 64 hex digits, got %r (re-pin it: sha256sum %s)" % (pinned, model_file)
    return None


def check_model_hash(data, pinned, where, model_file):
    """The one check of a model against its pinned hash (the detector port
    before the runtime sees a model, and model_bytes()). pinned None: not
    pinned. Raises ModelHashError naming `where` and `model_file`."""
    if pinned is None:
        return
    bad = _bad_pin(pinned, model_file)
    if bad:
        raise ModelHashError("%s: %s" % (where, bad))
    if hashlib.sha256(data).hexdigest() != pinned.lower():
        raise ModelHashError("%s: %s does not match its pinned sha256" % (where, model_file))


def search_paths():
    paths = []
    env = os.environ.get("HEARTH_MODELS")
    if env:
        paths.extend(p for p in env.split(os.pathsep) if p)
    here = os.path.dirname(os.path.abspath(__file__))
    paths.append(os.path.abspath(os.path.join(here, "..", "..", "models")))
    try:
        import importlib.util
        spec = importlib.util.find_spec("pymicro_wakeword")
        if spec and spec.origin:
            paths.append(os.path.join(os.path.dirname(spec.origin), "models"))
    except (ImportError, ValueError):
        pass
    return paths


def available():
    """Model names found on the search path (first occurrence wins)."""
    names = []
    for d in search_paths():
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith(".json"):
                name = f[:-5]
                if name not in names:
                    try:
                        load_manifest(os.path.join(d, f))
                    except ManifestError:
                        continue
                    names.append(name)
    return names


class WakeWordManifest:
    """A validated manifest. model_bytes() reads (and hash-checks) the model."""

    def __init__(self, doc, path):
        self.path = os.path.abspath(path)
        self.raw = doc
        where = self.path

        def need(obj, key, kinds, ctx):
            if key not in obj:
                raise ManifestError("%s: missing %r in %s" % (where, key, ctx))
            v = obj[key]
            if not isinstance(v, kinds) or isinstance(v, bool):
                raise ManifestError("%s: %s %r has the wrong type" % (where, ctx, key))
            return v

        if not isinstance(doc, dict):
            raise ManifestError("%s: not a JSON object" % where)
        mtype = doc.get("type", "micro")
        if mtype != "micro":
            raise ManifestError("%s: type %r is not a microWakeWord model ('micro')" % (where, mtype))
        model = need(doc, "model", str, "the manifest")
        micro = need(doc, "micro", dict, "the manifest")
        self.version = doc.get("version", 1)
        self.wake_word = doc.get("wake_word") or os.path.splitext(os.path.basename(model))[0]
        if not isinstance(self.wake_word, str):
            raise ManifestError("%s: wake_word must be a string" % where)
        self.model_path = os.path.normpath(os.path.join(os.path.dirname(self.path), model))
        self.name = os.path.splitext(os.path.basename(self.path))[0]
        self.probability_cutoff = float(need(micro, "probability_cutoff", (int, float), "micro"))
        if not 0.0 <= self.probability_cutoff <= 1.0:
            raise ManifestError("%s: probability_cutoff %r is outside 0..1" % (where, self.probability_cutoff))
        if "sliding_window_size" in micro:
            window = need(micro, "sliding_window_size", int, "micro")
        else:
            window = need(micro, "sliding_window_average_size", int, "micro (v1)")
        if not 1 <= window <= 64:
            raise ManifestError("%s: sliding window %d is outside 1..64" % (where, window))
        self.sliding_window_size = window
        self.feature_step_size = micro.get("feature_step_size", FEATURE_STEP_MS)
        if self.feature_step_size != FEATURE_STEP_MS:
            raise ManifestError("%s: feature_step_size %r is not supported (only %d ms)" % (
                where, self.feature_step_size, FEATURE_STEP_MS))
        self.tensor_arena_size = micro.get("tensor_arena_size")
        refr = micro.get("refractory_steps", DEFAULT_REFRACTORY_STEPS)
        if not isinstance(refr, int) or isinstance(refr, bool) or not 0 <= refr <= 1000000:
            raise ManifestError("%s: refractory_steps must be an integer >= 0" % where)
        self.refractory_steps = refr
        self.trained_languages = doc.get("trained_languages", [])
        self.sha256 = doc.get("sha256")
        if self.sha256 is not None and _bad_pin(self.sha256, model):
            raise ModelHashError("%s: %s" % (where, _bad_pin(self.sha256, model)))

    def model_bytes(self):
        try:
            with open(self.model_path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise ManifestError("%s: cannot read model %s: %s" % (
                self.path, self.model_path, e.strerror or e)) from None
        check_model_hash(data, self.sha256, self.path, os.path.basename(self.model_path))
        return data

    def __repr__(self):
        return "WakeWordManifest(%r, cutoff=%g, window=%d)" % (
            self.name, self.probability_cutoff, self.sliding_window_size)


def load_manifest(path):
    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError as e:
        raise ManifestError("%s: cannot read: %s" % (path, e.strerror or e)) from None
    try:
        doc = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ManifestError("%s: not valid JSON (%s)" % (path, e)) from None
    return WakeWordManifest(doc, path)


def resolve(spec):
    """A WakeWordManifest from a manifest, a JSON path or a model name."""
    if isinstance(spec, WakeWordManifest):
        return spec
    spec = os.fspath(spec)
    if spec.endswith(".json") or os.sep in spec or (os.altsep and os.altsep in spec):
        return load_manifest(spec)
    for d in search_paths():
        p = os.path.join(d, spec + ".json")
        if os.path.isfile(p):
            return load_manifest(p)
    raise ManifestError("unknown model %r: not found in %s (give a path to a microWakeWord "
                        "JSON manifest, or one of: %s)" % (
                            spec, ", ".join(search_paths()), ", ".join(available()) or "none"))
