"""WAV input for the host tools: any rate, sample format or channel count in,
16 kHz mono 16-bit out.

    pcm, info = read_wav("kitchen.wav")     # np.int16, 16 kHz mono

The RIFF structure is checked here first (so a truncated or empty file gets
a clear error instead of silently shorter audio); libsndfile (soundfile)
decodes every WAV encoding (8/16/24/32-bit PCM, float, A-law, mu-law,
WAVE_FORMAT_EXTENSIBLE); channels are averaged and the rate converted with
soxr. A file that already is 16 kHz mono 16-bit PCM is passed through
bit-exactly.
"""
import os
import struct

import numpy as np

__all__ = ["AudioError", "read_wav", "write_wav", "RATE"]

RATE = 16000
_UNKNOWN_SIZE = 0xFFFFFFFF          # streaming writers' "length unknown"


class AudioError(ValueError):
    """An input file that cannot be used; str() is one line naming the problem."""


def _scan_riff(path, data):
    """Validate the chunk structure; returns (fmt dict, data offset, data size)."""
    if len(data) == 0:
        raise AudioError("%s: empty file" % path)
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        raise AudioError("%s: not a WAV file (no RIFF/WAVE header)" % path)
    if data[:4] == b"RIFX":
        raise AudioError("%s: big-endian RIFX WAV is not supported" % path)
    pos, fmt, data_off, data_size = 12, None, None, None
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if cid == b"fmt ":
            if size < 16 or body + size > len(data):
                raise AudioError("%s: truncated or invalid fmt chunk" % path)
            tag, ch, rate, _, align, bits = struct.unpack_from("<HHIIHH", data, body)
            fmt = dict(tag=tag, channels=ch, rate=rate, block_align=align, bits=bits)
        elif cid == b"data":
            data_off = body
            avail = len(data) - body
            if size == _UNKNOWN_SIZE:
                size = avail
            if size > avail:
                raise AudioError("%s: truncated: the data chunk declares %d bytes, the file "
                                 "holds %d" % (path, size, avail))
            data_size = size
            break
        pos = body + size + (size & 1)
    if fmt is None:
        raise AudioError("%s: no fmt chunk" % path)
    if data_off is None:
        raise AudioError("%s: truncated: no data chunk" % path)
    # sane bounds also keep a forged header from asking for a huge resampling
    if not (1 <= fmt["channels"] <= 64 and 1000 <= fmt["rate"] <= 768000) or fmt["block_align"] < 1:
        raise AudioError("%s: unsupported format (%d channels at %d Hz)" % (
            path, fmt["channels"], fmt["rate"]))
    if data_size == 0:
        raise AudioError("%s: no audio (empty data chunk)" % path)
    if fmt["tag"] in (1, 3, 6, 7, 0xFFFE) and data_size % fmt["block_align"]:
        raise AudioError("%s: truncated: the data ends inside a sample frame" % path)
    return fmt, data_off, data_size


def read_wav(path, rate=RATE):
    """(int16 mono samples at `rate`, info dict) from a WAV file (a path, or
    a binary stream such as sys.stdin.buffer)."""
    import io

    import soundfile

    try:
        if hasattr(path, "read"):
            data, path = path.read(), getattr(path, "name", "<stream>")
        else:
            with open(path, "rb") as f:
                data = f.read()
    except OSError as e:
        raise AudioError("%s: cannot read: %s" % (path, e.strerror or e)) from None
    fmt, off, size = _scan_riff(path, data)
    info = dict(fmt, frames=size // fmt["block_align"], path=os.fspath(path))
    if fmt["tag"] == 1 and fmt["bits"] == 16 and fmt["channels"] == 1 and fmt["rate"] == rate:
        pcm = np.frombuffer(data, dtype="<i2", count=size // 2, offset=off).copy()
        return pcm, info
    try:
        x, sr = soundfile.read(io.BytesIO(data), dtype="float64", always_2d=True)
    except (RuntimeError, ValueError, TypeError) as e:   # LibsndfileError is a RuntimeError
        raise AudioError("%s: cannot decode WAV (format tag %d, %d-bit): %s" % (
            path, fmt["tag"], fmt["bits"], str(e).splitlines()[0] if str(e) else "error")) from None
    if x.size == 0:
        raise AudioError("%s: no audio" % path)
    mono = x.mean(axis=1)
    if sr != rate:
        import soxr
        mono = soxr.resample(mono, sr, rate, quality="VHQ")
    pcm = np.clip(np.round(mono * 32768.0), -32768, 32767).astype(np.int16)
    if pcm.size == 0:
        raise AudioError("%s: no audio left after resampling" % path)
    return pcm, info


def write_wav(path, pcm, rate=RATE, channels=1, subtype="PCM_16"):
    """Write samples (int16 or float in -1..1; [frames, channels] for several)."""
    import soundfile

    x = np.asarray(pcm)
    if x.dtype == np.int16:
        x = x.astype(np.float64) / 32768.0
    soundfile.write(os.fspath(path), x, rate, subtype=subtype, format="WAV")
