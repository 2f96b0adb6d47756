"""Bridge to the TFLM microfrontend compiled inside pymicro-features.

pymicro-features' extension module (micro_features_cpp) exports TFLM's C
functions (FrontendPopulateState, FrontendProcessSamples, ...). Calling them
through ctypes gives the tables TFLM builds at init (window, FFT twiddles,
filterbank weights, the PCAN gain LUT built with powf) and its raw uint16
outputs, so our frontend is compared table by table, not only by output.

Run as a script to (re)write the golden files next to it:
    .venv/bin/python tests/golden/frontend/tflm_ref.py
"""
import ctypes
import glob
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

c_int, c_float, c_size_t, c_void_p = ctypes.c_int, ctypes.c_float, ctypes.c_size_t, ctypes.c_void_p
P16 = ctypes.POINTER(ctypes.c_int16)


class WindowConfig(ctypes.Structure):
    _fields_ = [("size_ms", c_size_t), ("step_size_ms", c_size_t)]


class FilterbankConfig(ctypes.Structure):
    _fields_ = [("num_channels", c_int), ("upper_band_limit", c_float),
                ("lower_band_limit", c_float), ("output_scale_shift", c_int)]


class NoiseReductionConfig(ctypes.Structure):
    _fields_ = [("smoothing_bits", c_int), ("even_smoothing", c_float),
                ("odd_smoothing", c_float), ("min_signal_remaining", c_float)]


class PcanConfig(ctypes.Structure):
    _fields_ = [("enable_pcan", c_int), ("strength", c_float), ("offset", c_float),
                ("gain_bits", c_int)]


class LogScaleConfig(ctypes.Structure):
    _fields_ = [("enable_log", c_int), ("scale_shift", c_int)]


class FrontendConfig(ctypes.Structure):
    _fields_ = [("window", WindowConfig), ("filterbank", FilterbankConfig),
                ("noise_reduction", NoiseReductionConfig), ("pcan", PcanConfig),
                ("log_scale", LogScaleConfig)]


class WindowState(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("coefficients", P16), ("step", c_size_t),
                ("input", P16), ("input_used", c_size_t), ("output", P16),
                ("max_abs_output_value", ctypes.c_int16)]


class FftState(ctypes.Structure):
    _fields_ = [("input", P16), ("output", P16), ("fft_size", c_size_t),
                ("input_size", c_size_t), ("scratch", c_void_p), ("scratch_size", c_size_t)]


class FilterbankState(ctypes.Structure):
    _fields_ = [("num_channels", c_int), ("start_index", c_int), ("end_index", c_int),
                ("channel_frequency_starts", P16), ("channel_weight_starts", P16),
                ("channel_widths", P16), ("weights", P16), ("unweights", P16),
                ("work", ctypes.POINTER(ctypes.c_uint64))]


class NoiseReductionState(ctypes.Structure):
    _fields_ = [("smoothing_bits", c_int), ("even_smoothing", ctypes.c_uint16),
                ("odd_smoothing", ctypes.c_uint16), ("min_signal_remaining", ctypes.c_uint16),
                ("num_channels", c_int), ("estimate", ctypes.POINTER(ctypes.c_uint32))]


class PcanState(ctypes.Structure):
    _fields_ = [("enable_pcan", c_int), ("noise_estimate", ctypes.POINTER(ctypes.c_uint32)),
                ("num_channels", c_int), ("gain_lut", P16), ("snr_shift", ctypes.c_int32)]


class LogScaleState(ctypes.Structure):
    _fields_ = [("enable_log", c_int), ("scale_shift", c_int)]


class FrontendState(ctypes.Structure):
    _fields_ = [("window", WindowState), ("fft", FftState), ("filterbank", FilterbankState),
                ("noise_reduction", NoiseReductionState), ("pcan", PcanState),
                ("log_scale", LogScaleState)]


class FrontendOutput(ctypes.Structure):
    _fields_ = [("values", ctypes.POINTER(ctypes.c_uint16)), ("size", c_size_t)]


# KISS FFT's private state (kiss_fftr_state -> kiss_fft_state) holds the twiddles
class KissFftrState(ctypes.Structure):
    _fields_ = [("substate", c_void_p), ("tmpbuf", c_void_p), ("super_twiddles", c_void_p)]


def _lib():
    import micro_features_cpp  # noqa: F401  (locates the installed module)
    path = sys.modules["micro_features_cpp"].__file__
    lib = ctypes.CDLL(path)
    lib.FrontendPopulateState.argtypes = [ctypes.POINTER(FrontendConfig), ctypes.POINTER(FrontendState), c_int]
    lib.FrontendPopulateState.restype = c_int
    lib.FrontendProcessSamples.argtypes = [ctypes.POINTER(FrontendState), P16, c_size_t,
                                           ctypes.POINTER(c_size_t)]
    lib.FrontendProcessSamples.restype = FrontendOutput
    lib.FrontendFreeStateContents.argtypes = [ctypes.POINTER(FrontendState)]
    return lib


DEFAULT = dict(sample_rate=16000, window_ms=30, step_ms=10, num_channels=40,
               lower_band_hz=125.0, upper_band_hz=7500.0, nr_smoothing_bits=10,
               nr_even_smoothing=0.025, nr_odd_smoothing=0.06, nr_min_signal_remaining=0.05,
               pcan_enable=1, pcan_strength=0.95, pcan_offset=80.0, pcan_gain_bits=21,
               log_enable=1, log_scale_shift=6)


class TflmFrontend:
    """TFLM's own frontend (from pymicro-features' binary) for a config dict."""

    def __init__(self, **cfg):
        c = dict(DEFAULT, **cfg)
        self.lib = _lib()
        self.cfg = FrontendConfig()
        self.cfg.window.size_ms = c["window_ms"]
        self.cfg.window.step_size_ms = c["step_ms"]
        self.cfg.filterbank.num_channels = c["num_channels"]
        self.cfg.filterbank.lower_band_limit = c["lower_band_hz"]
        self.cfg.filterbank.upper_band_limit = c["upper_band_hz"]
        self.cfg.noise_reduction.smoothing_bits = c["nr_smoothing_bits"]
        self.cfg.noise_reduction.even_smoothing = c["nr_even_smoothing"]
        self.cfg.noise_reduction.odd_smoothing = c["nr_odd_smoothing"]
        self.cfg.noise_reduction.min_signal_remaining = c["nr_min_signal_remaining"]
        self.cfg.pcan.enable_pcan = c["pcan_enable"]
        self.cfg.pcan.strength = c["pcan_strength"]
        self.cfg.pcan.offset = c["pcan_offset"]
        self.cfg.pcan.gain_bits = c["pcan_gain_bits"]
        self.cfg.log_scale.enable_log = c["log_enable"]
        self.cfg.log_scale.scale_shift = c["log_scale_shift"]
        self.state = FrontendState()
        if not self.lib.FrontendPopulateState(ctypes.byref(self.cfg), ctypes.byref(self.state),
                                              c["sample_rate"]):
            raise ValueError("TFLM rejected the frontend config")

    def __del__(self):
        try:
            self.lib.FrontendFreeStateContents(ctypes.byref(self.state))
        except Exception:
            pass

    def process(self, pcm, chunk=None):
        """All output vectors for pcm (np.int16), fed in chunks of `chunk`."""
        x = np.ascontiguousarray(pcm, dtype=np.int16)
        out = []
        pos, n = 0, len(x)
        chunk = chunk or n
        while pos < n:
            end = min(n, pos + chunk)
            while pos < end:
                used = c_size_t()
                ptr = x[pos:].ctypes.data_as(P16)
                o = self.lib.FrontendProcessSamples(ctypes.byref(self.state), ptr, end - pos,
                                                    ctypes.byref(used))
                pos += used.value
                if o.size:
                    out.append(np.ctypeslib.as_array(o.values, shape=(o.size,)).copy())
        nch = self.state.filterbank.num_channels
        return np.array(out, dtype=np.uint16).reshape(-1, nch)

    def tables(self):
        """TFLM's init-time tables in our frontend's layout (hfe_tables)."""
        st = self.state
        ws = st.window.size
        win = np.ctypeslib.as_array(st.window.coefficients, shape=(ws,)).copy()
        nfft = st.fft.fft_size
        nc = nfft // 2
        fftr = KissFftrState.from_address(st.fft.scratch)
        # kiss_fft_state: int nfft, int inverse, int factors[64], cpx twiddles[]
        tw_addr = fftr.substate + 4 * 66
        tw = np.ctypeslib.as_array(ctypes.cast(tw_addr, P16), shape=(nc * 2,)).copy()
        stw = np.ctypeslib.as_array(ctypes.cast(fftr.super_twiddles, P16), shape=(nc // 2 * 2,)).copy()
        fb = st.filterbank
        nch = fb.num_channels
        starts = np.ctypeslib.as_array(fb.channel_frequency_starts, shape=(nch + 1,)).copy()
        wstarts = np.ctypeslib.as_array(fb.channel_weight_starts, shape=(nch + 1,)).copy()
        widths = np.ctypeslib.as_array(fb.channel_widths, shape=(nch + 1,)).copy()
        nw = int(max(wstarts + widths))
        w = np.ctypeslib.as_array(fb.weights, shape=(nw,)).copy()
        uw = np.ctypeslib.as_array(fb.unweights, shape=(nw,)).copy()
        # Un-pad: weight of every bin in [start_index, end_index) for the band
        # that owns it (TFLM pads bands with zero weights; a band is owned by
        # exactly one channel, so a nonzero unweight also identifies it).
        nb = fb.end_index - fb.start_index
        bw = np.zeros(nb, np.int16)
        buw = np.zeros(nb, np.int16)
        owner = np.full(nb, -1)
        for c in range(nch + 1):
            for j in range(widths[c]):
                b = starts[c] + j
                if fb.start_index <= b < fb.end_index and (w[wstarts[c] + j] or uw[wstarts[c] + j]):
                    owner[b - fb.start_index] = c
                    bw[b - fb.start_index] = w[wstarts[c] + j]
                    buw[b - fb.start_index] = uw[wstarts[c] + j]
        band_start = np.zeros(nch + 1, np.int16)
        band_width = np.zeros(nch + 1, np.int16)
        pos = fb.start_index
        for c in range(nch + 1):
            band_start[c] = pos
            band_width[c] = int(np.sum(owner == c))
            pos += band_width[c]
        lut = None
        if st.pcan.enable_pcan:
            lut = np.ctypeslib.as_array(st.pcan.gain_lut, shape=(125,)).copy()
            lut[5::4] = 0   # never written by TFLM (uninitialised malloc)
        nr = st.noise_reduction
        return dict(window=win, fft_size=nfft, twiddles=tw, super_twiddles=stw,
                    fb_start_index=fb.start_index, fb_end_index=fb.end_index,
                    fb_band_start=band_start, fb_band_width=band_width,
                    fb_weights=bw, fb_unweights=buw,
                    nr_even_smoothing=nr.even_smoothing, nr_odd_smoothing=nr.odd_smoothing,
                    nr_min_signal_remaining=nr.min_signal_remaining,
                    pcan_gain_lut=lut, pcan_snr_shift=st.pcan.snr_shift if st.pcan.enable_pcan else 0)


def adversarial(seed=11):
    """Signals at the edges of the fixed-point ranges: full-scale squares and
    alternations, -32768 runs, impulses, full-scale noise."""
    rng = np.random.default_rng(seed)
    parts = []
    for period in (2, 3, 7, 32, 160):
        sq = np.where((np.arange(1600) // max(period // 2, 1)) % 2, 32767, -32768)
        parts.append(sq)
    parts.append(np.full(800, -32768))
    imp = np.zeros(1600, dtype=np.int64)
    imp[::97] = 32767
    imp[50::131] = -32768
    parts.append(imp)
    parts.append(rng.integers(-32768, 32768, 3200))
    parts.append(np.round(32767 * np.sin(2 * np.pi * 7999 / 16000 * np.arange(1600))))
    return np.clip(np.concatenate(parts), -32768, 32767).astype(np.int16)


def golden_input(seconds=4.0, seed=7):
    """Deterministic test audio: a swept tone, bursts, noise and clipping,
    then the adversarial signals."""
    rng = np.random.default_rng(seed)
    n = int(16000 * seconds)
    t = np.arange(n) / 16000.0
    x = 4000 * np.sin(2 * np.pi * (200 + 900 * t) * t)
    x += rng.normal(0, 300, n) * (1.2 + np.sin(2 * np.pi * 0.7 * t))
    x[n // 3: n // 3 + 2000] *= 12          # loud, clipped burst
    x[n // 2: n // 2 + 4000] *= 0.01         # near-silence
    x = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    return np.concatenate([x, adversarial()])


def write_golden(outdir=HERE):
    """input.s16 (PCM), expected.u16 (TFLM vectors), the tables as flat
    little-endian int16 files and the scalar table values in scalars.txt."""
    ref = TflmFrontend()
    x = golden_input()
    feats = ref.process(x, chunk=160)
    x.astype("<i2").tofile(os.path.join(outdir, "input.s16"))
    feats.astype("<u2").tofile(os.path.join(outdir, "expected.u16"))
    tables = ref.tables()
    for name in ("window", "twiddles", "super_twiddles", "fb_band_start", "fb_band_width",
                 "fb_weights", "fb_unweights", "pcan_gain_lut"):
        np.asarray(tables[name], dtype="<i2").tofile(os.path.join(outdir, "%s.s16" % name))
    scalars = ["fft_size", "fb_start_index", "fb_end_index", "nr_even_smoothing",
               "nr_odd_smoothing", "nr_min_signal_remaining", "pcan_snr_shift"]
    with open(os.path.join(outdir, "scalars.txt"), "w") as f:
        for k in scalars:
            f.write("%s %d\n" % (k, tables[k]))
    return len(feats)


if __name__ == "__main__":
    print("wrote %d golden vectors to %s" % (write_golden(), HERE))
    for p in sorted(glob.glob(os.path.join(HERE, "*"))):
        print("  %s (%d bytes)" % (os.path.basename(p), os.path.getsize(p)))
