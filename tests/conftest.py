"""Shared test fixtures: repository paths, real models, real speech features."""
import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODELS_DIR = os.path.join(ROOT, "models")
CACHE_DIR = os.path.join(ROOT, "build", "test-cache")
WAKE_MODELS = ["okay_nabu", "hey_jarvis", "hey_mycroft", "alexa"]


def model_path(name):
    path = os.path.join(MODELS_DIR, name + ".tflite")
    if not os.path.exists(path):
        pytest.fail("%s missing: run `make models`" % path)
    return path


def model_manifest(name):
    with open(os.path.join(MODELS_DIR, name + ".json"), encoding="utf-8") as f:
        return json.load(f)


def espeak_pcm16k(text, voice="en", speed=150, pitch=50):
    """Speak text with espeak-ng and return 16 kHz mono int16 (cached)."""
    key = hashlib.sha256(("%s|%s|%d|%d" % (text, voice, speed, pitch)).encode()).hexdigest()[:16]
    os.makedirs(CACHE_DIR, exist_ok=True)
    cached = os.path.join(CACHE_DIR, "espeak-%s.npy" % key)
    if os.path.exists(cached):
        return np.load(cached)
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        pytest.fail("espeak-ng and sox are required: run `make debs`")
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                         check=True, capture_output=True).stdout
    raw = subprocess.run(["sox", "-t", "wav", "-", "-t", "raw", "-r", "16000", "-c", "1", "-b", "16",
                          "-e", "signed-integer", "-"], input=wav, check=True, capture_output=True).stdout
    pcm = np.frombuffer(raw, dtype="<i2").copy()
    np.save(cached + ".tmp.npy", pcm)
    os.replace(cached + ".tmp.npy", cached)
    return pcm


PHRASES = ["okay nabu", "hey jarvis", "hey mycroft", "alexa", "preheat the oven to two hundred degrees",
           "what is the time", "turn the light off", "okay nabu set a timer", "hey jarvis stop",
           "alexa what's cooking"]
VOICES = [("en", 150, 50), ("en-us", 130, 40), ("en+f3", 170, 60)]


def speech_corpus(seconds=75.0, seed=1):
    """Real speech (espeak-ng) with pauses and mixed noise, 16 kHz int16."""
    rng = np.random.default_rng(seed)
    parts, total = [], 0
    i = 0
    while total < seconds * 16000:
        text = PHRASES[i % len(PHRASES)]
        voice, speed, pitch = VOICES[(i // len(PHRASES)) % len(VOICES)]
        pcm = espeak_pcm16k(text, voice, speed, pitch).astype(np.float64)
        pause = np.zeros(int(16000 * rng.uniform(0.2, 0.8)))
        seg = np.concatenate([pause, pcm])
        noise = rng.normal(0, rng.choice([0, 30, 300, 1500]), seg.size)
        parts.append(np.clip(seg + noise, -32768, 32767).astype(np.int16))
        total += seg.size
        i += 1
    return np.concatenate(parts)


def microfeatures(pcm):
    """pymicro-features frames (float32, 40 channels) for 16 kHz int16 audio."""
    from pymicro_features import MicroFrontend
    fe = MicroFrontend()
    frames = []
    data = pcm.astype("<i2").tobytes()
    at, chunk = 0, 320
    while at + chunk <= len(data):
        res = fe.process_samples(data[at:at + chunk])
        at += res.samples_read * 2
        if res.features:
            frames.append(res.features)
    return np.array(frames, dtype=np.float32)


def quantized_windows(features, scale, zero_point, stride=3):
    """Quantize as pymicro-wakeword does and group `stride` frames per step."""
    q = np.round(features / scale + zero_point)
    q = np.clip(q, -128, 127).astype(np.int8)
    n = len(q) // stride
    return q[:n * stride].reshape(n, 1, stride, q.shape[1])


@pytest.fixture(scope="session")
def real_windows():
    """Per model: >= 2000 int8 input steps made from real speech features."""
    cached = os.path.join(CACHE_DIR, "real-windows-v1.npz")
    if os.path.exists(cached):
        data = np.load(cached)
        return {k: data[k] for k in data.files}
    feats = microfeatures(speech_corpus())
    out = {}
    for name in WAKE_MODELS:
        io = model_manifest(name)["io"]
        out[name] = quantized_windows(feats, io["input_scale"], io["input_zero_point"], io["input_shape"][1])
    os.makedirs(CACHE_DIR, exist_ok=True)
    np.savez(cached + ".tmp.npz", **out)
    os.replace(cached + ".tmp.npz", cached)
    return out


def run_hearth(*argv):
    """Run the `hearth` CLI in-process: (exit code, stdout, stderr)."""
    from hearth_tools.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()
