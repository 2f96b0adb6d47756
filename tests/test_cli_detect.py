"""`hearth detect`: WAV conversion, output formats, per-file errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from hearth.detect import Detector
from hearth_tools.testing import speech
from hearth_tools.audio_io import AudioError, read_wav, write_wav
from hearth_tools.cli import main


@pytest.fixture(scope="module")
def utterance():
    """okay nabu and alexa, after the one-second refractory start."""
    return speech.concat(speech.silence(1.2),
                         speech.corpus_clip("okay nabu", voice="en-us", speed=150),
                         speech.corpus_clip("alexa", voice="en-gb", speed=170))


@pytest.fixture(scope="module")
def alexa_clip():
    """espeak-ng's "alexa" as it comes (0.8 s, no silence added before or after)."""
    from conftest import espeak_pcm16k
    return espeak_pcm16k("alexa", "en", 170, 50)


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_16k_file_matches_library(tmp_path, utterance, capsys):
    p = tmp_path / "a.wav"
    write_wav(p, utterance)
    pcm, info = read_wav(p)
    np.testing.assert_array_equal(pcm, utterance)          # passed through exactly
    want = Detector(["okay_nabu", "alexa"]).feed(utterance)
    assert [e.model for e in want] == ["okay_nabu", "alexa"]
    rc, out, err = run_cli(capsys, "--json", "detect", str(p), "-m", "okay_nabu", "-m", "alexa")
    assert rc == 0 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert [set(r) for r in rows] == [{"file", "model", "t", "p"}] * 2
    assert [(r["model"], r["t"], r["p"]) for r in rows] == \
        [(e.model, round(e.t, 4), round(e.p, 4)) for e in want]
    rc, out, _ = run_cli(capsys, "detect", str(p), "--model", "alexa")
    assert rc == 0 and len(out.splitlines()) == 1 and "alexa" in out and "a.wav" in out


@pytest.mark.parametrize("rate,channels,subtype", [
    (44100, 2, "PCM_24"), (8000, 1, "PCM_U8"), (48000, 1, "FLOAT"),
    (22050, 3, "PCM_32"), (16000, 2, "PCM_16"), (11025, 1, "ULAW"),
])
def test_any_wav_format_is_converted(tmp_path, utterance, rate, channels, subtype, capsys):
    x = speech.resample(utterance, 16000, rate) / 32768.0
    x = np.repeat(x[:, None], channels, axis=1) if channels > 1 else x
    p = tmp_path / ("f_%d_%d_%s.wav" % (rate, channels, subtype))
    write_wav(p, x, rate=rate, subtype=subtype)
    pcm, info = read_wav(p)
    assert info["rate"] == rate and info["channels"] == channels
    assert abs(len(pcm) - len(utterance)) <= 16000 // rate + 2
    rc, out, err = run_cli(capsys, "--json", "detect", str(p), "-m", "okay_nabu")
    assert rc == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    if subtype in ("PCM_U8", "ULAW") or rate == 8000:
        return      # 8-bit / 8 kHz audio may lose the word; conversion is what is tested
    assert [r["model"] for r in rows] == ["okay_nabu"]
    assert abs(rows[0]["t"] - 2.0) < 1.5


def _bad_files(tmp_path, utterance):
    good = tmp_path / "good.wav"
    write_wav(good, utterance)
    raw = good.read_bytes()
    files = {}
    files["empty.wav"] = b""
    files["truncated.wav"] = raw[: len(raw) // 2]
    files["oddcut.wav"] = raw[:-1]
    files["text.wav"] = b"this is not audio at all\n" * 10
    files["nodata.wav"] = raw[:36]
    hdr = bytearray(raw[:44])
    hdr[40:44] = (0).to_bytes(4, "little")
    files["zerodata.wav"] = bytes(hdr)
    out = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        out.append(tmp_path / name)
    return good, out


def test_bad_files_get_one_line_errors(tmp_path, utterance, capsys):
    good, bad = _bad_files(tmp_path, utterance)
    for p in bad:
        with pytest.raises(AudioError):
            read_wav(p)
    args = [str(bad[0]), str(good), *map(str, bad[1:]), str(tmp_path / "missing.wav")]
    rc, out, err = run_cli(capsys, "--json", "detect", *args, "-m", "okay_nabu")
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == len(bad) + 1
    assert all(line.startswith("hearth: error: ") for line in lines)
    assert any("truncated" in line for line in lines) and any("empty" in line for line in lines)
    # the good file between the bad ones was still processed; each bad one
    # is a JSON failure object too
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["file"] for r in rows if "error" not in r] == [str(good)]
    failures = [r for r in rows if "error" in r]
    assert [r["file"] for r in failures] == [str(p) for p in bad] + [str(tmp_path / "missing.wav")]
    assert all(r["ok"] is False and r["exit_code"] == 2 for r in failures)


def test_mangled_headers_never_crash(tmp_path, utterance):
    """Random damage to a WAV's header and chunk sizes: a result or an
    AudioError, never another exception."""
    good = tmp_path / "g.wav"
    write_wav(good, utterance[:8000], rate=22050, subtype="PCM_24")
    raw = bytearray(good.read_bytes())
    rng = np.random.default_rng(1)
    p = tmp_path / "m.wav"
    outcomes = {"ok": 0, "error": 0}
    for _ in range(300):
        data = bytearray(raw)
        for _ in range(int(rng.integers(1, 6))):
            i = int(rng.integers(0, 60))
            data[i] = int(rng.integers(0, 256))
        if rng.random() < 0.3:
            data = data[: int(rng.integers(0, len(data)))]
        p.write_bytes(bytes(data))
        try:
            pcm, _ = read_wav(p)
            assert pcm.dtype == np.int16
            outcomes["ok"] += 1
        except AudioError as e:
            assert "\n" not in str(e)
            outcomes["error"] += 1
    assert outcomes["ok"] and outcomes["error"]


def test_unknown_model_is_a_usage_error(tmp_path, utterance, capsys):
    p = tmp_path / "a.wav"
    write_wav(p, utterance)
    rc, out, err = run_cli(capsys, "detect", str(p), "-m", "no_such_word")
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_steps_output_and_entry_point(tmp_path, utterance):
    p = tmp_path / "a.wav"
    write_wav(p, utterance[: 16000 * 2])
    r = subprocess.run([sys.executable, "-m", "hearth_tools.cli", "--json", "detect", str(p),
                        "-m", "hey_jarvis", "--steps"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == ((2 * 16000 - 480) // 160 + 1) // 3     # stride 3: one step per 3 vectors
    assert {"step", "model", "output", "probability", "mean"} <= set(rows[0])


def test_unpadded_clip_detected_as_pymicro_wakeword_does(tmp_path, alexa_clip, capsys):
    """A file is not a reboot: no start-up refractory period, so a word in
    the first second is found, as pymicro-wakeword (no refractory) finds it."""
    from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model
    assert len(alexa_clip) < 16000                 # shorter than ESPHome's 1 s start-up period
    mww, features = MicroWakeWord.from_builtin(Model.ALEXA), MicroWakeWordFeatures()
    vectors = list(features.process_streaming(alexa_clip.tobytes()))
    fired = [i for i, f in enumerate(vectors) if mww.process_streaming(f)]
    assert fired, "pymicro-wakeword does not detect the clip"
    p = tmp_path / "alexa.wav"
    write_wav(p, alexa_clip)
    rc, out, err = run_cli(capsys, "--json", "detect", str(p), "-m", "alexa")
    assert rc == 0 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["model"] for r in rows] == ["alexa"]
    # the same feature vector decides (10 ms each; the event is at its window's end)
    assert abs(rows[0]["t"] - (fired[0] + 1) * 0.01 - 0.02) <= 0.0301
    # the appliance after a boot keeps ESPHome's start-up period
    assert Detector(["alexa"]).feed(alexa_clip) == []


def test_refractory_after_a_detection_still_applies(tmp_path, alexa_clip, capsys):
    twice = np.concatenate([alexa_clip, alexa_clip])         # 0.8 s apart: within 1 s
    p = tmp_path / "twice.wav"
    write_wav(p, twice)
    rc, out, err = run_cli(capsys, "--json", "detect", str(p), "-m", "alexa")
    assert rc == 0 and [json.loads(line)["model"] for line in out.splitlines()] == ["alexa"]


def test_nothing_fired_is_one_line_on_stderr(tmp_path, capsys):
    p = tmp_path / "quiet.wav"
    write_wav(p, np.zeros(16000 * 2, dtype=np.int16))
    rc, out, err = run_cli(capsys, "detect", str(p), "-m", "alexa", "-m", "okay_nabu")
    assert rc == 0 and out == ""
    assert err == "hearth: no wake word in %s (models: alexa, okay_nabu)\n" % p
    rc, out, err = run_cli(capsys, "--json", "detect", str(p), str(p), "-m", "alexa")
    assert rc == 0 and out == "" and err == "hearth: no wake word in 2 files (models: alexa)\n"


def test_dash_reads_stdin(tmp_path, alexa_clip):
    p = tmp_path / "alexa.wav"
    write_wav(p, alexa_clip)
    env = dict(os.environ, NO_COLOR="1")
    with open(p, "rb") as f:
        r = subprocess.run([sys.executable, "-m", "hearth_tools.cli", "--json", "detect", "-", "-m", "alexa"],
                           stdin=f, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(row["file"], row["model"]) for row in rows] == [("-", "alexa")]
    r = subprocess.run([sys.executable, "-m", "hearth_tools.cli", "detect", "-", "-m", "alexa"],
                       input=b"not a wav", capture_output=True, timeout=120, env=env)
    assert r.returncode == 2 and r.stderr.decode().count("\n") == 1 and b"<stdin>" in r.stderr
