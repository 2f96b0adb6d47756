"""hearth.frontend - the TFLM audio microfrontend in C (bit-exact), from Python.

    from hearth.frontend import Frontend
    fe = Frontend()                    # microWakeWord's configuration
    v = fe.process(pcm)                # uint16 [frames, 40]; state carries over
    f = fe.features(pcm)               # the same as float32 (v * 0.0390625), the
                                       # values pymicro-features returns

One call handles a whole block of int16 samples (bytes or numpy); the partial
window and the noise estimates carry across calls, so block boundaries never
change the output.
"""
import numpy as np

from ._native import ffi, lib
from .native_errors import FrontendError, check

__all__ = ["FrontendError", "Frontend", "FLOAT_SCALE", "DEFAULT_CONFIG", "PcmPointers", "as_pcm"]

FLOAT_SCALE = np.float32(0.0390625)   # pymicro-features / ESPHome feature scale

_FIELDS = ("sample_rate", "window_ms", "step_ms", "num_channels", "lower_band_hz",
           "upper_band_hz", "nr_smoothing_bits", "nr_even_smoothing", "nr_odd_smoothing",
           "nr_min_signal_remaining", "pcan_enable", "pcan_strength", "pcan_offset",
           "pcan_gain_bits", "log_enable", "log_scale_shift")


def _default_config():
    c = ffi.new("hfe_config *")
    lib.hfe_config_default(c)
    return {k: getattr(c, k) for k in _FIELDS}


DEFAULT_CONFIG = _default_config()


def as_pcm(pcm):
    """bytes / bytearray / int16 array -> contiguous int16 array (no copy if possible)."""
    if isinstance(pcm, (bytes, bytearray, memoryview)):
        if len(pcm) % 2:
            raise ValueError("PCM byte string has an odd length (expected 16-bit samples)")
        return np.frombuffer(pcm, dtype="<i2")
    a = np.asarray(pcm)
    if a.dtype != np.int16:
        raise TypeError("PCM must be int16 samples (got %s)" % a.dtype)
    return np.ascontiguousarray(a.reshape(-1))


_NDARRAY = np.ndarray
_I16 = np.dtype(np.int16)
_I16_ARRAY = ffi.typeof("int16_t[]")
_from_buffer = ffi.from_buffer


class PcmPointers:
    """C pointers to the int16 blocks a consumer was given lately.

    An audio source that refills the same capture buffer every block (or
    cycles through a few) hands out the same array objects again and again;
    their cffi views are made once and kept, so the loop does not pay for
    numpy's buffer export on every block. Entries hold the array itself, so
    an id() is never reused while it is cached and a kept pointer always
    belongs to a live array (whose data cannot move while it is referenced).
    Anything else (bytes, other dtypes, strided views) is converted with
    as_pcm first and not cached."""

    def __init__(self, size=16):
        self.size = size
        # id(array) -> (array, cdata); hot paths may look up here directly
        # (an entry counts only if entry[0] is the array)
        self.entries = {}

    def get(self, pcm):
        """-> (array, int16_t[] cdata) for pcm."""
        e = self.entries.get(id(pcm))
        if e is not None and e[0] is pcm:
            return e
        return self._add(pcm)

    def _add(self, pcm):
        if type(pcm) is _NDARRAY and pcm.dtype is _I16 and pcm.ndim == 1:
            try:
                e = (pcm, _from_buffer(_I16_ARRAY, pcm))
            except (BufferError, ValueError):
                e = None                # not contiguous
            if e is not None:
                if len(self.entries) >= self.size:
                    self.entries.clear()    # a source making new arrays: nothing to gain
                self.entries[id(pcm)] = e
                return e
        x = as_pcm(pcm)
        return x, _from_buffer(_I16_ARRAY, x)


class Frontend:
    """One streaming microfrontend instance (its own state)."""

    def __init__(self, **config):
        unknown = set(config) - set(_FIELDS)
        if unknown:
            raise TypeError("unknown frontend option(s): %s" % ", ".join(sorted(unknown)))
        self._cfg = ffi.new("hfe_config *")
        lib.hfe_config_default(self._cfg)
        for k, v in config.items():
            setattr(self._cfg, k, v)
        need = ffi.new("size_t *")
        check(lib.hfe_state_bytes(self._cfg, need))
        self._mem = ffi.new("uint64_t[]", (need[0] + 7) // 8)
        fe = ffi.new("hfe_frontend **")
        check(lib.hfe_init(fe, self._cfg, self._mem, need[0]))
        self._fe = fe[0]
        self.state_bytes = int(need[0])
        self.channels = lib.hfe_num_channels(self._fe)
        self.window_samples = lib.hfe_window_samples(self._fe)
        self.step_samples = lib.hfe_step_samples(self._fe)
        self._consumed = ffi.new("size_t *")
        self._frames = ffi.new("size_t *")

    @property
    def config(self):
        return {k: getattr(self._cfg, k) for k in _FIELDS}

    def reset(self):
        lib.hfe_reset(self._fe)

    def process(self, pcm):
        """All complete output vectors of this block: uint16 [frames, channels]."""
        x = as_pcm(pcm)
        n = len(x)
        cap = (n + self.window_samples) // self.step_samples + 1
        out = np.empty((cap, self.channels), dtype=np.uint16)
        check(lib.hfe_process_block(
            self._fe, ffi.from_buffer("int16_t[]", x), n,
            ffi.from_buffer("uint16_t[]", out, require_writable=True), cap,
            self._frames, self._consumed))
        # cap bounds every possible vector count, so the block is always consumed
        assert self._consumed[0] == n
        return out[: self._frames[0]]

    def features(self, pcm):
        """process() scaled to pymicro-features' float values (float32)."""
        return self.process(pcm).astype(np.float32) * FLOAT_SCALE

    def tables(self):
        """The tables built at init, as numpy arrays (for comparison with TFLM)."""
        t = ffi.new("hfe_tables *")
        check(lib.hfe_get_tables(self._fe, t))

        def arr(ptr, n):
            if ptr == ffi.NULL:
                return None
            return np.frombuffer(ffi.buffer(ptr, 2 * n), dtype=np.int16).copy()

        nb = t.fb_end_index - t.fb_start_index
        return dict(
            window=arr(t.window, t.window_size), fft_size=t.fft_size,
            twiddles=arr(t.twiddles, t.fft_size), super_twiddles=arr(t.super_twiddles, t.fft_size // 2),
            fb_start_index=t.fb_start_index, fb_end_index=t.fb_end_index,
            fb_band_start=arr(t.fb_band_start, self.channels + 1),
            fb_band_width=arr(t.fb_band_width, self.channels + 1),
            fb_weights=arr(t.fb_weights, nb), fb_unweights=arr(t.fb_unweights, nb),
            nr_even_smoothing=t.nr_even_smoothing, nr_odd_smoothing=t.nr_odd_smoothing,
            nr_min_signal_remaining=t.nr_min_signal_remaining,
            pcan_gain_lut=arr(t.pcan_gain_lut, 125),
            pcan_snr_shift=t.pcan_snr_shift if t.pcan_gain_lut != ffi.NULL else 0)
