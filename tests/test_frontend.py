"""hearth.frontend against TFLM's microfrontend.

Two oracles: pymicro-features' public API (the frontend pymicro-wakeword
uses, float features) on spoken audio, and TFLM's C functions inside the
same binary through ctypes (tests/golden/frontend/tflm_ref.py) for the raw
uint16 outputs and the tables built at init, also for configurations other
than microWakeWord's.
"""
import importlib.util
import os

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from hearth.frontend import DEFAULT_CONFIG, FLOAT_SCALE, Frontend, FrontendError
from hearth_tools.testing import speech

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "frontend")


def _load_ref():
    spec = importlib.util.spec_from_file_location("tflm_ref", os.path.join(GOLDEN, "tflm_ref.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


tflm_ref = _load_ref()


def pymicro_features(pcm):
    """Float features exactly as pymicro-wakeword obtains them."""
    from pymicro_wakeword import MicroWakeWordFeatures

    f = MicroWakeWordFeatures()
    return np.array([v.reshape(-1) for v in f.process_streaming(pcm.tobytes())])


@pytest.fixture(scope="module")
def spoken():
    """~12 s: wake words and other speech, clean and in noise, plus a loud
    clipped burst and near-silence."""
    parts = [
        speech.corpus_clip("okay nabu", voice="en-us", speed=150),
        speech.corpus_clip("hey jarvis, turn on the oven", voice="en-us+f3", speed=170,
                           snr_db=10, seed=3),
        speech.corpus_clip("alexa", voice="en-gb", speed=140, snr_db=0, seed=4, color="pink"),
        speech.noise(1.0, -20, seed=5, color="brown"),
        np.clip(speech.corpus_clip("hey mycroft", voice="en-gb-scotland").astype(np.int32) * 20,
                -32768, 32767).astype(np.int16),
        speech.silence(0.5),
    ]
    return speech.concat(*parts)


def test_tables_match_tflm():
    """Every table TFLM builds at init (powf gain LUT, cosf window, log1pf
    filterbank, KISS twiddles) equals ours."""
    mine = Frontend().tables()
    ref = tflm_ref.TflmFrontend().tables()
    assert set(mine) == set(ref)
    for k, v in ref.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(mine[k], v, err_msg=k)
        else:
            assert mine[k] == v, k


def test_golden_files_current():
    """The C test's golden files still describe TFLM (regenerate with
    tests/golden/frontend/tflm_ref.py if this fails after an upgrade)."""
    x = np.fromfile(os.path.join(GOLDEN, "input.s16"), dtype="<i2")
    exp = np.fromfile(os.path.join(GOLDEN, "expected.u16"), dtype="<u2").reshape(-1, 40)
    np.testing.assert_array_equal(tflm_ref.TflmFrontend().process(x, chunk=160), exp)
    np.testing.assert_array_equal(Frontend().process(x), exp)
    t = tflm_ref.TflmFrontend().tables()
    for name in ("window", "twiddles", "super_twiddles", "fb_weights", "pcan_gain_lut"):
        np.testing.assert_array_equal(np.fromfile(os.path.join(GOLDEN, name + ".s16"), "<i2"),
                                      t[name], err_msg=name)


def test_features_match_pymicro_features(spoken):
    ref = pymicro_features(spoken)
    mine = Frontend().features(spoken)
    assert mine.shape == ref.shape and len(ref) > 1000
    # float32 values, compared as the doubles pymicro-features hands out
    np.testing.assert_array_equal(mine.astype(np.float64), ref)
    # the raw outputs cover the range the models see, incl. loud input
    raw = Frontend().process(spoken)
    assert raw.max() > 600 and raw.min() == 0


def test_adversarial_signals_match_tflm():
    """Full-scale squares, -32768 runs, impulses: the wrap-around corners of
    the fixed-point FFT and filterbank (also in the C test's golden input)."""
    x = np.concatenate([tflm_ref.adversarial(seed) for seed in range(4)])
    np.testing.assert_array_equal(Frontend().process(x),
                                  tflm_ref.TflmFrontend().process(x, chunk=160))


def test_raw_outputs_match_tflm(spoken):
    np.testing.assert_array_equal(Frontend().process(spoken),
                                  tflm_ref.TflmFrontend().process(spoken, chunk=160))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2000), min_size=1, max_size=40),
       st.integers(min_value=0, max_value=2 ** 32 - 1))
def test_block_boundaries_do_not_matter(sizes, seed):
    """Any split of the stream (empty blocks included) gives the same vectors
    as one call."""
    assume(any(sizes))
    x = speech.mix_noise(speech.corpus_clip("hey mycroft", voice="en-us", speed=160),
                         15, seed % 1000)[:24000]
    whole = Frontend().process(x)
    fe = Frontend()
    out, pos, i = [], 0, 0
    while pos < len(x):
        n = sizes[i % len(sizes)]
        out.append(fe.process(x[pos:pos + n]))
        pos += n
        i += 1
    np.testing.assert_array_equal(np.concatenate(out), whole)


def test_one_sample_at_a_time():
    x = speech.corpus_clip("alexa", voice="en-us", speed=160)[:6000]
    fe = Frontend()
    got = np.concatenate([fe.process(x[i:i + 1]) for i in range(len(x))])
    np.testing.assert_array_equal(got, Frontend().process(x))


def test_reset_and_bytes_input():
    x = speech.corpus_clip("okay nabu", voice="en-gb", speed=160)
    fe = Frontend()
    a = fe.process(x.tobytes())
    fe.reset()
    np.testing.assert_array_equal(fe.process(x), a)
    with pytest.raises(ValueError):
        fe.process(b"\x00\x01\x02")
    with pytest.raises(TypeError):
        fe.process(np.zeros(10, dtype=np.float32))
    assert fe.process(b"").shape == (0, 40)


CONFIGS = [
    dict(window_ms=25, step_ms=10, num_channels=32),          # TFLM's own defaults
    dict(pcan_enable=0),
    dict(log_enable=0),
    dict(num_channels=64, lower_band_hz=60.0, upper_band_hz=7900.0),
    dict(sample_rate=8000, window_ms=32, step_ms=16, num_channels=20, upper_band_hz=3800.0),
    dict(window_ms=64, step_ms=20, nr_smoothing_bits=12, pcan_gain_bits=24, log_scale_shift=8),
    dict(window_ms=20, step_ms=20, nr_even_smoothing=0.1, nr_odd_smoothing=0.5,
         nr_min_signal_remaining=0.2, pcan_strength=0.5, pcan_offset=20.0),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: ",".join("%s=%s" % kv for kv in c.items()))
def test_other_configs_match_tflm(cfg, spoken):
    """The C frontend is the general TFLM frontend, not one hard-wired setup
    (radix-2 FFT stages, other band layouts, modules switched off)."""
    x = spoken
    if cfg.get("sample_rate", 16000) != 16000:
        x = speech.to_int16(speech.resample(spoken, 16000, cfg["sample_rate"]))
    ref = tflm_ref.TflmFrontend(**cfg)
    mine = Frontend(**cfg)
    t_ref, t_mine = ref.tables(), mine.tables()
    for k, v in t_ref.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(t_mine[k], v, err_msg=k)
        elif v is not None:
            assert t_mine[k] == v, k
    np.testing.assert_array_equal(mine.process(x), ref.process(x, chunk=mine.step_samples))


def test_bad_configs_raise():
    for bad in (dict(num_channels=0), dict(upper_band_hz=9000.0), dict(step_ms=40),
                dict(window_ms=0), dict(pcan_gain_bits=40), dict(sample_rate=10)):
        with pytest.raises(FrontendError) as ei:
            Frontend(**bad)
        assert ei.value.name == "HFE_E_CONFIG"
    with pytest.raises(TypeError):
        Frontend(bogus=1)


def test_default_config_is_microwakeword():
    assert DEFAULT_CONFIG["window_ms"] == 30 and DEFAULT_CONFIG["step_ms"] == 10
    assert DEFAULT_CONFIG["num_channels"] == 40
    assert FLOAT_SCALE == np.float32(0.0390625)
