"""Test speech: espeak-ng synthesis, noise mixing and resampling helpers.

    from hearth_tools.testing.speech import synthesize, mix_noise
    pcm = synthesize("okay nabu", voice="en-us+f3", speed=150)   # int16, 16 kHz
    noisy = mix_noise(pcm, snr_db=10, seed=1)

Everything is deterministic: espeak-ng renders the same text, voice and speed
to the same samples, and noise comes from a seeded generator. The functions
are pure; caching (build/corpus/) is the caller's business (see corpus()).
"""
import hashlib
import os
import shutil
import subprocess

import numpy as np

__all__ = ["SpeechError", "synthesize", "mix_noise", "resample", "silence",
           "noise", "concat", "corpus_clip"]

RATE = 16000


class SpeechError(RuntimeError):
    """espeak-ng missing or failing."""


def resample(x, rate_in, rate_out=RATE):
    """float or int16 mono samples from rate_in to rate_out (soxr, high quality).
    Returns float32 in the input's scale."""
    import soxr

    x = np.asarray(x, dtype=np.float32)
    if rate_in == rate_out:
        return x
    return soxr.resample(x, rate_in, rate_out, quality="HQ").astype(np.float32)


def to_int16(x):
    """Round and clip float samples (int16 scale) to int16."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64)), -32768, 32767).astype(np.int16)


def synthesize(text, voice="en", speed=160, rate=RATE, pitch=None):
    """Speak `text` with espeak-ng; int16 mono samples at `rate` Hz."""
    import io

    import soundfile

    exe = shutil.which("espeak-ng")
    if not exe:
        raise SpeechError("espeak-ng not found: install the Debian package espeak-ng")
    cmd = [exe, "-v", voice, "-s", str(int(speed)), "--stdout"]
    if pitch is not None:
        cmd += ["-p", str(int(pitch))]
    cmd.append(text)
    try:
        wav = subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout
    except subprocess.CalledProcessError as e:
        raise SpeechError("espeak-ng failed for voice %r: %s" % (
            voice, e.stderr.decode(errors="replace").strip())) from None
    data, sr = soundfile.read(io.BytesIO(wav), dtype="float32", always_2d=True)
    if data.size == 0:
        raise SpeechError("espeak-ng produced no audio for voice %r" % voice)
    mono = data.mean(axis=1) * 32768.0
    return to_int16(resample(mono, sr, rate))


def silence(seconds, rate=RATE):
    return np.zeros(int(round(seconds * rate)), dtype=np.int16)


def noise(seconds, level_db=-40.0, seed=0, color="white", rate=RATE):
    """Stationary noise at level_db dBFS RMS. color: white, pink or brown."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    w = rng.standard_normal(n)
    if color in ("pink", "brown"):
        spec = np.fft.rfft(w)
        f = np.fft.rfftfreq(n, 1.0 / rate)
        f[0] = f[1] if n > 1 else 1.0
        spec /= np.sqrt(f) if color == "pink" else f
        w = np.fft.irfft(spec, n)
    elif color != "white":
        raise ValueError("noise color must be white, pink or brown")
    w /= max(np.sqrt(np.mean(w * w)), 1e-12)
    return to_int16(w * 32768.0 * 10 ** (level_db / 20.0))


def mix_noise(pcm, snr_db, seed, color="white"):
    """pcm plus noise at snr_db relative to the RMS of the non-silent part."""
    x = np.asarray(pcm, dtype=np.float64)
    if x.size == 0:
        return np.asarray(pcm, dtype=np.int16)
    active = x[np.abs(x) > 0.01 * max(np.max(np.abs(x)), 1.0)]
    p_sig = np.mean(active * active) if active.size else 0.0
    n = noise(x.size / RATE, 0.0, seed=seed, color=color).astype(np.float64)[: x.size]
    if n.size < x.size:
        n = np.pad(n, (0, x.size - n.size))
    p_noise = np.mean(n * n)
    if p_sig <= 0 or p_noise <= 0:
        return to_int16(x)
    gain = np.sqrt(p_sig / p_noise / 10 ** (snr_db / 10.0))
    return to_int16(x + gain * n)


def concat(*parts):
    return np.concatenate([np.asarray(p, dtype=np.int16) for p in parts])


def _cache_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", ".."))
    return os.environ.get("HEARTH_CORPUS_CACHE", os.path.join(root, "build", "corpus"))


def corpus_clip(text, voice="en", speed=160, snr_db=None, seed=0, color="white",
                lead_s=0.5, tail_s=1.0, cache=True):
    """A test clip: silence, the spoken text, silence, optionally with noise.
    Cached under build/corpus/ keyed by every parameter (and the espeak-ng
    version), so reruns skip synthesis."""
    key = repr((text, voice, int(speed), snr_db, int(seed), color, float(lead_s),
                float(tail_s), _espeak_version()))
    path = os.path.join(_cache_dir(), hashlib.sha256(key.encode()).hexdigest()[:24] + ".s16")
    if cache and os.path.exists(path):
        return np.fromfile(path, dtype="<i2")
    pcm = concat(silence(lead_s), synthesize(text, voice=voice, speed=speed), silence(tail_s))
    if snr_db is not None:
        pcm = mix_noise(pcm, snr_db, seed, color=color)
    if cache:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = "%s.%d.tmp" % (path, os.getpid())
        pcm.astype("<i2").tofile(tmp)
        os.replace(tmp, path)
    return pcm


_ESPEAK_VERSION = None


def _espeak_version():
    global _ESPEAK_VERSION
    if _ESPEAK_VERSION is None:
        exe = shutil.which("espeak-ng")
        try:
            _ESPEAK_VERSION = subprocess.run([exe, "--version"], capture_output=True,
                                             timeout=10).stdout.decode().strip() if exe else "none"
        except (OSError, subprocess.SubprocessError):
            _ESPEAK_VERSION = "unknown"
    return _ESPEAK_VERSION
