"""hearth.detect against the reference wake-word pipeline.

Reference (built here from the peers, step by step):
  pymicro-features frames (pymicro-wakeword's MicroWakeWordFeatures)
  -> pymicro-wakeword's quantization np.round(f / input_scale + zero_point),
     stride = input dim 1 (saturated to int8 where numpy's cast would wrap)
  -> TFLM (`tflite-micro`) running the model
  -> numpy float32 dequantization, sliding window, statistics.mean, > cutoff
  -> ESPHome micro_wake_word's refractory period (ignore_windows_).
Ours must give identical per-step output bytes and identical decisions.
pymicro-wakeword itself (TFLite's C kernels) is compared too, as rates: of
equal output bytes, and recall and precision on the positive windows.

The corpus is spoken at test time by espeak-ng (several voices, speeds,
noise mixes), cached in build/corpus/.
"""
import importlib.util
import os
import statistics

import numpy as np
import pytest

from hearth.detect import Detector, DetectorError, Event
from hearth.model_manifest import ManifestError, resolve
from hearth_tools.testing import speech

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "frontend")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(GOLDEN, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


reference_mod = _load("reference")
reference_run = reference_mod.reference_run

MODELS = ["okay_nabu", "hey_jarvis", "hey_mycroft", "alexa"]
PHRASE = {"okay_nabu": "okay nabu", "hey_jarvis": "hey jarvis",
          "hey_mycroft": "hey mycroft", "alexa": "alexa"}
# voices that these models recognise to different degrees (misses included)
VOICES = [("en-us", 150), ("en-us+f3", 150), ("en-gb", 170), ("en-us+f4", 190),
          ("en-gb-scotland", 140), ("en-029", 170)]
NEGATIVE = ["turn the oven to two hundred degrees", "what is the weather like tomorrow",
            "okay now", "hey there", "a lexicon of jars", "my crofter is nabbing"]


def _clip(text, voice, speed, snr=None, seed=0, color="white"):
    return speech.corpus_clip(text, voice=voice, speed=speed, snr_db=snr, seed=seed,
                              color=color, lead_s=0.3, tail_s=0.6)


def build_corpus():
    """Three streams (~70 s in all): every wake word in several voices and
    speeds, clean and in white/pink noise at 20..0 dB SNR, negative speech,
    pure noise and a loud clipped stretch."""
    streams = []
    for s, snr_set in enumerate([(None,), (20, 10), (5, 0)]):
        parts = []
        for i, (voice, speed) in enumerate(VOICES):
            for j, name in enumerate(MODELS):
                if (i + j + s) % 2:            # half the combinations per stream
                    continue
                snr = snr_set[(i + j) % len(snr_set)]
                color = "pink" if (i + s) % 3 == 0 else "white"
                parts.append(_clip(PHRASE[name], voice, speed, snr, seed=100 * s + 10 * i + j,
                                   color=color))
            text = NEGATIVE[(i + s) % len(NEGATIVE)]
            parts.append(_clip(text, voice, speed + 10, snr_set[0], seed=7 + i, color="white"))
        parts.append(speech.noise(1.5, -25 + 5 * s, seed=s, color=("white", "pink", "brown")[s]))
        if s == 2:
            loud = _clip("alexa, hey mycroft", "en-us", 160).astype(np.int32) * 25
            parts.append(np.clip(loud, -32768, 32767).astype(np.int16))
        streams.append(speech.concat(*parts))
    return streams


@pytest.fixture(scope="module")
def corpus():
    return build_corpus()


@pytest.fixture(scope="module")
def reference(corpus):
    return [reference_run(pcm, MODELS) for pcm in corpus]


@pytest.fixture(scope="module")
def hearth_all(corpus):
    out = []
    for pcm in corpus:
        d = Detector(MODELS)
        ev, st = d.feed(pcm, steps=True)
        out.append((ev, st))
    return out


def _split(ev, st, nmodels):
    steps = [st[st["model"] == i] for i in range(nmodels)]
    events = [[e for e in ev if e.index == i] for i in range(nmodels)]
    return steps, events


def test_step_outputs_and_decisions_match_reference(corpus, reference, hearth_all):
    total_steps = total_events = 0
    for (ref_steps, ref_events), (ev, st) in zip(reference, hearth_all):
        steps, events = _split(ev, st, len(MODELS))
        for i, name in enumerate(MODELS):
            rs = ref_steps[i]
            assert len(steps[i]) == len(rs), name
            np.testing.assert_array_equal(steps[i]["output"], [r[0] for r in rs], err_msg=name)
            np.testing.assert_array_equal(steps[i]["frame"], [r[1] for r in rs], err_msg=name)
            np.testing.assert_array_equal(steps[i]["probability"],
                                          np.array([r[2] for r in rs], np.float32))
            # the smoothing, bit for bit (-1: window not full yet)
            np.testing.assert_array_equal(steps[i]["mean"],
                                          [-1.0 if r[3] is None else r[3] for r in rs])
            # every per-step decision (window mean above the cutoff)
            cutoff = resolve(name).probability_cutoff
            assert [m > cutoff for m in steps[i]["mean"]] == \
                [r[3] is not None and r[3] > cutoff for r in rs], name
            # every detection (after the refractory rule), sample-accurate
            got = [(e.sample, e.frame, e.p) for e in events[i]]
            want = [(s, f, np.float32(p).item()) for s, f, p in ref_events[i]]
            assert got == want, name
            total_steps += len(rs)
            total_events += len(want)
    # the corpus must exercise the detector: every model fires somewhere
    fired = {e.model for ev, _ in hearth_all for e in ev}
    assert fired == set(MODELS), fired
    assert total_steps > 8000 and total_events >= 12


def test_models_alone_decide_as_together(corpus, hearth_all):
    for pcm, (ev_all, st_all) in zip(corpus, hearth_all):
        steps, events = _split(ev_all, st_all, len(MODELS))
        for i, name in enumerate(MODELS):
            ev, st = Detector([name]).feed(pcm, steps=True)
            assert [(e.sample, e.p) for e in ev] == [(e.sample, e.p) for e in events[i]], name
            np.testing.assert_array_equal(st["output"], steps[i]["output"])


def test_block_sizes_do_not_change_anything(corpus, hearth_all):
    pcm = corpus[1]
    ev_ref, st_ref = hearth_all[1]
    rng = np.random.default_rng(5)
    d = Detector(MODELS)
    evs, sts, pos = [], [], 0
    while pos < len(pcm):
        n = int(rng.choice([1, 7, 160, 161, 999, 4000, 16000]))
        ev, st = d.feed(pcm[pos:pos + n], steps=True)
        evs += ev
        sts.append(st)
        pos += n
    assert evs == ev_ref
    np.testing.assert_array_equal(np.concatenate(sts), st_ref)


def _pymicro_steps(pcm, name):
    """pymicro-wakeword on one stream: per invoke its uint8 output and the
    probability it dequantizes; its window size and cutoff."""
    from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

    mww = MicroWakeWord.from_builtin(Model(name))
    probs = []
    for f in MicroWakeWordFeatures().process_streaming(pcm.tobytes()):
        mww.process_streaming_prob(f)
        if not mww._features:                          # an invoke happened
            probs.append(mww._probabilities[-1])
    raw = np.round(np.array(probs) / mww.output_scale + mww.output_zero_point).astype(np.int64)
    return raw, probs, mww.sliding_window_size, mww.probability_cutoff


def _positive_windows(probabilities, window, cutoff):
    """Per full window: is its mean above the cutoff (the per-step decision
    before the refractory rule)?"""
    p = [float(x) for x in probabilities]
    return np.array([statistics.mean(p[k + 1 - window: k + 1]) > cutoff
                     for k in range(window - 1, len(p))], bool)


def test_agreement_with_pymicro_wakeword(corpus, hearth_all, record_property):
    """pymicro-wakeword (TFLite's C kernels) rounds differently from TFLM on
    some steps, so it is compared as a rate, on what matters: the uint8
    output of each step, and the positive windows (mean above the cutoff,
    no refractory period on either side) as recall and precision. Overall
    decision agreement would prove little: under 2 % of the windows are
    positive, so a detector that never fired would still agree on 98 %."""
    steps = same_out = both = only_theirs = only_mine = 0
    worst = 0
    for pcm, (_, st) in zip(corpus, hearth_all):
        for i, name in enumerate(MODELS):
            theirs, theirs_p, window, cutoff = _pymicro_steps(pcm, name)
            s = st[st["model"] == i]
            mine = s["output"].astype(np.int64)
            assert len(theirs) == len(mine), name
            steps += len(mine)
            same_out += int(np.sum(theirs == mine))
            worst = max(worst, int(np.max(np.abs(theirs - mine))))
            pos_mine = _positive_windows(s["probability"], window, cutoff)
            pos_theirs = _positive_windows(theirs_p, window, cutoff)
            both += int(np.sum(pos_mine & pos_theirs))
            only_mine += int(np.sum(pos_mine & ~pos_theirs))
            only_theirs += int(np.sum(~pos_mine & pos_theirs))
    recall = both / max(both + only_theirs, 1)
    precision = both / max(both + only_mine, 1)
    record_property("pymicro_wakeword_output_agreement", same_out / steps)
    record_property("pymicro_wakeword_positive_recall", recall)
    record_property("pymicro_wakeword_positive_precision", precision)
    print("\nagreement with pymicro-wakeword (TFLite C): output bytes %.4f of %d steps "
          "(largest difference %d); positive windows: %d theirs, %d ours, %d both "
          "(recall %.4f, precision %.4f)"
          % (same_out / steps, steps, worst, both + only_theirs, both + only_mine, both,
             recall, precision))
    assert both + only_theirs >= 100, "the corpus has too few positive windows to compare"
    assert recall >= 0.95 and precision >= 0.95
    assert same_out / steps >= 0.95


def test_detector_golden_files_current():
    """The C detector test's golden files are what the reference pipeline
    (TFLM) gives today, and what we give."""
    pcm = np.fromfile(os.path.join(GOLDEN, "detector_input.s16"), dtype="<i2")
    np.testing.assert_array_equal(pcm, reference_mod.golden_input())
    steps, events = reference_run(pcm, reference_mod.GOLDEN_MODELS)
    rows = np.loadtxt(os.path.join(GOLDEN, "detector_steps.txt"), dtype=np.int64, ndmin=2)
    want = [(i, f, raw) for i, st in enumerate(steps) for raw, f, _, _ in st]
    assert [tuple(r) for r in rows.tolist()] == want
    ev = Detector(reference_mod.GOLDEN_MODELS).feed(pcm)
    lines = [ln.split() for ln in open(os.path.join(GOLDEN, "detector_events.txt"))
             if not ln.startswith("#")]
    assert len(lines) == len(ev) == sum(len(e) for e in events) >= 3
    got = sorted((e.index, e.sample, e.frame, np.float32(e.p).view(np.uint32).item()) for e in ev)
    assert got == sorted((int(a), int(b), int(c), int(d, 16)) for a, b, c, d in lines)


def test_refractory_and_reset():
    clip = _clip("hey mycroft", "en-gb", 170)
    # the first second after a reset is refractory (ESPHome): speech there is ignored
    assert Detector(["hey_mycroft"]).feed(clip[int(0.2 * 16000):]) == []
    gap = speech.silence(1.5)
    pcm = speech.concat(gap, clip, gap, clip, gap, clip)
    d = Detector(["hey_mycroft"])
    ev = d.feed(pcm)
    assert len(ev) == 3
    assert ev == [Event("hey_mycroft", 0, s, (s - 480) // 160, np.float32(p).item())
                  for s, _, p in reference_run(pcm, ["hey_mycroft"])[1][0]]
    d.reset()
    assert d.samples == 0
    assert d.feed(pcm) == ev
    # a longer refractory period swallows the next utterances
    man = resolve("hey_mycroft")
    man.refractory_steps = 10000
    assert Detector([man]).feed(pcm) == []
    # without one, the same utterance fires on consecutive steps
    man.refractory_steps = 0
    ev3 = Detector([man]).feed(pcm)
    assert len(ev3) > 3 and min(np.diff([e.sample for e in ev3])) < 100 * 160


def test_enable_disable():
    pcm = speech.concat(_clip("okay nabu", "en-us", 150), _clip("alexa", "en-us", 150))
    d = Detector(["okay_nabu", "alexa"])
    full = d.feed(pcm)
    assert {e.model for e in full} == {"okay_nabu", "alexa"}
    d = Detector(["okay_nabu", "alexa"])
    d.disable("alexa")
    assert not d.enabled("alexa")
    assert [e.model for e in d.feed(pcm)] == ["okay_nabu"]
    d.enable("alexa")            # re-enabled: starts over (refractory first)
    d.reset()
    assert d.feed(pcm) == full


def test_events_carry_time_and_probability():
    pcm = _clip("okay nabu", "en-us", 150)
    ev = Detector(["okay_nabu"]).feed(pcm)
    assert len(ev) == 1
    e = ev[0]
    assert isinstance(e, Event) and e.model == "okay_nabu"
    assert 0.3 < e.t < len(pcm) / 16000 and (e.sample - 480) % 160 == 0
    assert 0.85 < e.p <= 1.0
    assert set(e.as_dict()) >= {"model", "t", "p"}


def test_plain_microwakeword_manifest(tmp_path):
    """An ESPHome user's v2 JSON next to their model, and a v1 one."""
    import json
    import shutil

    src = resolve("alexa")
    shutil.copy(src.model_path, tmp_path / "my_word.tflite")
    (tmp_path / "v2.json").write_text(json.dumps({
        "type": "micro", "wake_word": "My Word", "model": "my_word.tflite", "version": 2,
        "micro": {"probability_cutoff": 0.9, "sliding_window_size": 5,
                  "feature_step_size": 10, "tensor_arena_size": 30000}}))
    (tmp_path / "v1.json").write_text(json.dumps({
        "type": "micro", "wake_word": "My Word", "model": "my_word.tflite",
        "micro": {"probability_cutoff": 0.9, "sliding_window_average_size": 5}}))
    pcm = _clip("alexa", "en-us", 150)
    want = [(e.sample, e.p) for e in Detector(["alexa"]).feed(pcm)]
    for j in ("v2.json", "v1.json"):
        d = Detector([str(tmp_path / j)])
        assert d.names == [j[:-5]]
        assert [(e.sample, e.p) for e in d.feed(pcm)] == want


def test_bad_manifests_and_models(tmp_path):
    import json

    with pytest.raises(ManifestError):
        Detector(["no_such_model"])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ManifestError):
        Detector([str(bad)])
    bad.write_text(json.dumps({"type": "micro", "model": "x.tflite",
                               "micro": {"probability_cutoff": 2, "sliding_window_size": 5}}))
    with pytest.raises(ManifestError):
        Detector([str(bad)])
    (tmp_path / "x.tflite").write_bytes(b"TFL3 garbage" * 10)
    bad.write_text(json.dumps({"type": "micro", "model": "x.tflite",
                               "micro": {"probability_cutoff": 0.5, "sliding_window_size": 5}}))
    with pytest.raises(DetectorError) as ei:
        Detector([str(bad)])
    assert ei.value.name == "HDET_E_NN"
    bad.write_text(json.dumps({"type": "micro", "model": "missing.tflite",
                               "micro": {"probability_cutoff": 0.5, "sliding_window_size": 5}}))
    with pytest.raises(ManifestError):
        Detector([str(bad)])
    src = resolve("alexa")
    bad.write_text(json.dumps({"type": "micro", "model": src.model_path, "sha256": "0" * 64,
                               "micro": {"probability_cutoff": 0.5, "sliding_window_size": 5}}))
    with pytest.raises(ManifestError):
        Detector([str(bad)])


def test_wrong_model_shape_rejected(tmp_path):
    """A valid .tflite that is not a streaming detector gets HDET_E_MODEL."""
    import json

    from hearth_tools.testing.tflite_builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", [1, 40], "int8", scale=0.1, zero_point=0)
    y = b.tensor("y", [1, 40], "int8", scale=0.1, zero_point=0)
    b.op("RESHAPE", inputs=[x], outputs=[y], options={"new_shape": [1, 40]})
    b.inputs([x])
    b.outputs([y])
    (tmp_path / "m.tflite").write_bytes(b.build())
    (tmp_path / "m.json").write_text(json.dumps({
        "type": "micro", "model": "m.tflite",
        "micro": {"probability_cutoff": 0.5, "sliding_window_size": 5}}))
    with pytest.raises(DetectorError) as ei:
        Detector([str(tmp_path / "m.json")])
    assert ei.value.name in ("HDET_E_MODEL", "HDET_E_NN")


def test_quality_summaries_match_steps_and_frontend(corpus, hearth_all):
    """quality(): per model the highest full-window mean of the steps since
    the last read (what the per-step output says), and the mean frontend
    feature value over those vectors (what hearth.frontend computes)."""
    from hearth.frontend import Frontend
    pcm = corpus[0]
    _, st_ref = hearth_all[0]
    feats = Frontend().process(pcm).astype(np.float64)
    d = Detector(MODELS)
    block = 8000                                 # the loop reads every 0.5 s
    frames_seen = 0
    peaks_hit = 0
    for pos in range(0, len(pcm), block):
        d.feed(pcm[pos:pos + block])
        peaks, fmean, frames = d.quality()
        lo, hi = frames_seen, frames_seen + frames
        assert frames == len(feats[lo:hi])
        if frames:
            assert fmean == pytest.approx(feats[lo:hi].mean(), rel=1e-12)
        else:
            assert fmean is None
        for i in range(len(MODELS)):
            s = st_ref[(st_ref["model"] == i) & (st_ref["frame"] >= lo) & (st_ref["frame"] < hi)]
            want = max([0.0] + [m for m in s["mean"].tolist() if m > 0.0])
            assert peaks[i] == np.float32(want), (MODELS[i], pos)
            peaks_hit += want > 0.5
        frames_seen = hi
    assert frames_seen == len(feats) and peaks_hit >= 3      # wake words were in there
    # clear=False keeps counting; reset starts over
    d.feed(pcm[:16000])
    a = d.quality(clear=False)
    assert d.quality() == a and d.quality()[2] == 0
    d.feed(pcm[:8000])
    d.reset()
    assert d.quality() == ([0.0] * len(MODELS), None, 0)


def test_feed_takes_any_pcm_layout():
    """The loop's fast path (an int16 array straight to C) and the general
    path (bytes, strided views, 2-D) give the same events."""
    x = _clip("okay nabu", "en-us", 150)
    x = x[: len(x) - len(x) % 10]
    want = Detector(["okay_nabu"]).feed(x)
    assert want
    wide = np.zeros((len(x), 2), np.int16)
    wide[:, 1] = x
    for pcm in (x.tobytes(), wide[:, 1], x.reshape(-1, 10)):
        assert Detector(["okay_nabu"]).feed(pcm) == want
    for bad in (x.astype(np.float32), x.astype(">i2")):
        with pytest.raises(TypeError):
            Detector(["okay_nabu"]).feed(bad)
