"""hearth.detect - streaming wake-word detection, the hot path in C.

    from hearth.detect import Detector
    det = Detector(["okay_nabu", "hey_jarvis", "/path/to/my_word.json"])
    for ev in det.feed(pcm):            # any block size, 16 kHz int16 mono
        print(ev.model, ev.t, ev.p)     # model name, seconds, window-mean probability

One C call per block: the frontend runs once for all models, each model
quantizes, strides, invokes and decides on its own (microWakeWord / ESPHome
rules: see native/include/hearth/detector.h and docs/HEARING.md). For
diagnostics, feed(pcm, steps=True) also returns every model invoke's raw
output byte, probability and window mean as a numpy structured array;
quality() sums up what the models and the frontend saw since it was last
called (for the appliance's quality monitor, without per-step output).
"""
import numpy as np

from ._native import ffi, lib
from . import nn
from .frontend import PcmPointers, as_pcm
from .model_manifest import ManifestError, WakeWordManifest, resolve
from .native_errors import DetectorError, check, detail_text

__all__ = ["DetectorError", "Detector", "Event", "STEP_DTYPE", "SAMPLE_RATE"]

SAMPLE_RATE = 16000
_EVENT_SLOTS = 64
_hdet_feed = lib.hdet_feed

STEP_DTYPE = np.dtype([("model", "<i4"), ("output", "<i4"), ("frame", "<i8"),
                       ("probability", "<f4"), ("reserved", "<f4"), ("mean", "<f8")])


class Event:
    """One detection: model name and index, sample-accurate time, probability."""

    __slots__ = ("model", "index", "sample", "frame", "p")

    def __init__(self, model, index, sample, frame, p):
        self.model, self.index, self.sample, self.frame, self.p = model, index, sample, frame, p

    @property
    def t(self):
        """Seconds from the start of the stream (or the last reset)."""
        return self.sample / SAMPLE_RATE

    def as_dict(self):
        return {"model": self.model, "t": self.t, "p": self.p, "sample": self.sample}

    def __eq__(self, other):
        return (isinstance(other, Event) and (self.index, self.sample, self.p) ==
                (other.index, other.sample, other.p) and self.model == other.model)

    def __repr__(self):
        return "Event(%r, t=%.3f, p=%.4f)" % (self.model, self.t, self.p)


class Detector:
    """N wake-word models on one shared audio frontend."""

    def __init__(self, models):
        if isinstance(models, (str, bytes, WakeWordManifest)) or hasattr(models, "__fspath__"):
            models = [models]
        manifests = [resolve(m) for m in models]
        if not manifests:
            raise ManifestError("no models given")
        if len(manifests) > lib.HDET_MAX_MODELS:
            raise DetectorError(lib.HDET_E_LIMIT, "at most %d models" % lib.HDET_MAX_MODELS)
        need = ffi.new("size_t *")
        self._check(lib.hdet_bytes(need))
        self._mem = ffi.new("uint64_t[]", (need[0] + 7) // 8)
        dp = ffi.new("hdet **")
        self._check(lib.hdet_init(dp, self._mem, need[0]))
        self._d = dp[0]
        self.manifests = manifests
        self.names = []
        self._keep = []
        for man in manifests:
            data = man.model_bytes()
            buf = ffi.new("uint64_t[]", (len(data) + 7) // 8 or 1)
            ffi.memmove(buf, data, len(data))
            mp = ffi.cast("const uint8_t *", buf)
            arena, size = self._exact_arena(mp, len(data), man)
            cfg = ffi.new("hdet_model_config *")
            cfg.cutoff = man.probability_cutoff
            cfg.window = man.sliding_window_size
            cfg.refractory_steps = man.refractory_steps
            idx = ffi.new("int *")
            self._check(lib.hdet_add_model(self._d, mp, len(data), arena, size, cfg, idx), man)
            self._keep.append((buf, arena))
            name = man.name
            while name in self.names:          # the same model twice stays addressable
                name += "'"
            self.names.append(name)
        self._events = ffi.new("hdet_event[]", _EVENT_SLOTS)
        self._consumed = ffi.new("size_t *")
        self._n_events = ffi.new("size_t *")
        self._n_steps = ffi.new("size_t *")
        self._quality = ffi.new("hdet_quality *")
        self._ptrs = PcmPointers()

    def _exact_arena(self, mp, n, man):
        """An arena of exactly the bytes the runtime uses for this model (the
        runtime's own sizing, hearth.nn.arena_bytes)."""
        try:
            exact = nn.arena_bytes(mp, n)
        except nn.NNError as e:       # the model, not the detector: say which file
            raise DetectorError(lib.HDET_E_NN, "%s: %s" % (man.model_path, e)) from None
        return ffi.new("uint64_t[]", (exact + 7) // 8 or 1), exact

    def _check(self, rc, manifest=None):
        """check() with this detector's detail (and the model file, if given)."""
        if rc >= 0:
            return rc
        def detail():
            why = detail_text(lib.hdet_detail, self._d) if getattr(self, "_d", None) else ""
            if manifest is not None:
                why = "%s%s%s" % (manifest.model_path, ": " if why else "", why)
            return why
        return check(rc, detail)

    def _index(self, model):
        if isinstance(model, int):
            if not 0 <= model < len(self.names):
                raise IndexError("model index %d out of range" % model)
            return model
        try:
            return self.names.index(model)
        except ValueError:
            raise KeyError("no model %r (have: %s)" % (model, ", ".join(self.names))) from None

    def info(self, model):
        inf = ffi.new("hdet_model_info *")
        self._check(lib.hdet_model_info_get(self._d, self._index(model), inf))
        return {k: getattr(inf, k) for k in ("stride", "features", "input_scale",
                                             "input_zero_point", "output_scale",
                                             "output_zero_point", "output_signed",
                                             "enabled", "arena_bytes")}

    def enable(self, model, on=True):
        """Enable (resets that model) or disable one model by name or index."""
        self._check(lib.hdet_enable(self._d, self._index(model), 1 if on else 0))

    def disable(self, model):
        self.enable(model, False)

    def enabled(self, model):
        return bool(self.info(model)["enabled"])

    def reset(self, refractory=True):
        """Frontend, clock and all models back to their initial state.
        refractory=False skips the start-up refractory period (ESPHome's,
        after a boot): for a recording, whose word may be in its first second."""
        self._check(lib.hdet_reset(self._d))
        if not refractory:
            self._check(lib.hdet_end_refractory(self._d))

    @property
    def samples(self):
        return int(lib.hdet_samples(self._d))

    @property
    def t(self):
        return self.samples / SAMPLE_RATE

    def feed(self, pcm, steps=False):
        """Process one block; returns [Event, ...] (and the per-step array
        when steps=True)."""
        if steps:
            return self._feed_steps(as_pcm(pcm))
        # the application loop's call, every block: the capture buffer's C
        # view is kept (PcmPointers); anything else goes through as_pcm
        pcm, src = self._ptrs.get(pcm)
        n = len(pcm)
        d, consumed, evs, n_ev = self._d, self._consumed, self._events, self._n_events
        events = []
        pos = 0
        while True:
            rc = _hdet_feed(d, src + pos, n - pos, consumed, evs, _EVENT_SLOTS, n_ev, ffi.NULL, 0, ffi.NULL)
            if rc < 0:
                self._check(rc)
            pos += consumed[0]
            if n_ev[0]:
                events += self._events_out(n_ev[0])
            if pos >= n:
                return events

    def _events_out(self, count):
        out = []
        for i in range(count):
            e = self._events[i]
            out.append(Event(self.names[e.model], e.model, int(e.sample), int(e.frame), float(e.probability)))
        return out

    def _feed_steps(self, x):
        n = len(x)
        nm = len(self.names)
        frames_max = n // 160 + 4
        step_cap = max(frames_max * nm, nm)
        step_buf = ffi.new("hdet_step[]", step_cap)
        src = ffi.from_buffer("int16_t[]", x)
        events, pos, nsteps = [], 0, 0
        while True:
            self._check(lib.hdet_feed(
                self._d, src + pos, n - pos, self._consumed, self._events, _EVENT_SLOTS,
                self._n_events, step_buf + nsteps, step_cap - nsteps, self._n_steps))
            pos += self._consumed[0]
            events += self._events_out(self._n_events[0])
            nsteps += self._n_steps[0]
            if pos >= n:
                break
        arr = np.frombuffer(ffi.buffer(step_buf, nsteps * STEP_DTYPE.itemsize),
                            dtype=STEP_DTYPE).copy() if nsteps else np.zeros(0, STEP_DTYPE)
        return events, arr

    def quality(self, clear=True):
        """What the models and the frontend saw since the last call (clear=True)
        or reset, for a quality monitor: (peaks, feature_mean, frames) with
        peaks[i] the highest full-window mean probability of model i (0.0 if
        its window never filled) and feature_mean the mean frontend feature
        value (None without a feature vector)."""
        q = self._quality
        self._check(lib.hdet_quality_read(self._d, q, 1 if clear else 0))
        frames = int(q.frames)
        return ffi.unpack(q.peak, len(self.names)), (q.feature_mean if frames else None), frames
