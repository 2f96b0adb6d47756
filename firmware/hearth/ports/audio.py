"""Audio sources: WAV file, raw stdin, ALSA capture, sim room noise; and a mixer
so the console's `inject FILE.wav` can add sound to whatever is playing."""
import os
import subprocess
import wave

import numpy as np

RATE = 16000


class AudioError(ValueError):
    """Bad or unsupported audio input; the message says how to fix it."""


def read_wav(path, rate=RATE):
    """Mono int16 samples of a 16-bit PCM WAV file (a path, or a binary file
    object whose str() names it) at `rate` (stereo is averaged)."""
    try:
        with wave.open(path if hasattr(path, "read") else str(path), "rb") as w:
            ch, width, fr, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            if width != 2:
                raise AudioError("%s: %d-bit samples; need 16-bit PCM (sox IN -b 16 OUT)" % (path, 8 * width))
            if fr != rate:
                raise AudioError("%s: %d Hz; need %d Hz (sox IN -r %d OUT)" % (path, fr, rate, rate))
            if ch < 1 or ch > 8:
                raise AudioError("%s: %d channels" % (path, ch))
            raw = w.readframes(n)
    except FileNotFoundError:
        raise AudioError("%s: no such file" % path) from None
    except (wave.Error, EOFError) as e:
        raise AudioError("%s: not a PCM WAV file (%s)" % (path, e)) from None
    except OSError as e:
        raise AudioError("%s: %s" % (path, e.strerror or e)) from None
    usable = len(raw) - len(raw) % (2 * ch)
    pcm = np.frombuffer(raw[:usable], dtype="<i2")
    if ch > 1:
        pcm = pcm.reshape(-1, ch).astype(np.int32).mean(axis=1).round().astype(np.int16)
    return pcm.astype(np.int16, copy=True)


def write_wav(path, pcm, rate=RATE):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())


class ArraySource:
    """Samples from memory (a WAV file read up front); optionally looping."""

    def __init__(self, pcm, loop=False, rate=RATE):
        self.pcm = np.asarray(pcm, dtype=np.int16)
        self.loop = loop
        self.pos = 0
        self.rate = rate

    def read(self, n):
        if self.pos + n <= len(self.pcm):
            out = self.pcm[self.pos:self.pos + n]
            self.pos += n
            return out
        if not self.loop or len(self.pcm) == 0:
            if self.pos >= len(self.pcm):
                return None
            out = np.zeros(n, np.int16)
            rest = self.pcm[self.pos:]
            out[: len(rest)] = rest
            self.pos = len(self.pcm)
            return out
        parts = []
        need = n
        while need:
            take = min(need, len(self.pcm) - self.pos)
            parts.append(self.pcm[self.pos:self.pos + take])
            self.pos = (self.pos + take) % len(self.pcm)
            need -= take
        return np.concatenate(parts)


def wav_source(path, loop=False):
    return ArraySource(read_wav(path), loop=loop)


class StreamSource:
    """Raw signed 16-bit little-endian mono PCM from a binary stream (stdin, a pipe).

    Blocks are read into one capture buffer that every read refills (as a
    driver's DMA buffer is): the returned array is valid until the next
    read, and consumers that keep audio copy it."""

    def __init__(self, stream, rate=RATE):
        self.stream = stream
        self.rate = rate
        self._n = 0
        self._buf = self._arr = self._mv = None
        self._readinto = getattr(stream, "readinto", None)

    def _fill(self, want):
        """Bytes read into the capture buffer (fewer only at the end of the stream)."""
        got = 0
        mv = self._mv
        while got < want:
            if self._readinto is not None:
                k = self._readinto(mv[got:want])
            else:
                chunk = self.stream.read(want - got)
                k = len(chunk) if chunk else 0
                mv[got:got + k] = chunk
            if not k:
                break
            got += k
        return got

    def read(self, n):
        if n != self._n:
            self._n = n
            self._buf = bytearray(2 * n)
            self._mv = memoryview(self._buf)
            self._arr = np.frombuffer(self._buf, dtype="<i2")
        got = self._fill(2 * n)
        if got == 2 * n:
            return self._arr
        if got < 2:
            return None
        out = np.zeros(n, np.int16)      # the last, partial block: zero-padded
        out[: got // 2] = self._arr[: got // 2]
        return out


class AlsaSource(StreamSource):
    """ALSA capture on real boards, through `arecord` (alsa-utils): no Python
    ALSA binding to cross-build, and arecord handles the device's quirks."""

    def __init__(self, device, rate=RATE):
        cmd = ["arecord", "-q", "-D", device, "-f", "S16_LE", "-r", str(rate), "-c", "1", "-t", "raw"]
        try:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except FileNotFoundError:
            raise AudioError("arecord not found: install alsa-utils on the board") from None
        super().__init__(self.proc.stdout, rate)

    def close(self):
        self.proc.terminate()
        self.proc.wait()


class NoiseSource:
    """The sim's quiet room: low Gaussian noise like a real microphone's floor
    (a perfectly silent input would rightly be reported as a dead microphone)."""

    def __init__(self, rms=30.0, seed=1, rate=RATE, period_s=1.0):
        rng = np.random.default_rng(seed)
        self.buf = np.clip(rng.normal(0.0, rms, int(period_s * rate)), -32768, 32767).astype(np.int16)
        self.period = len(self.buf)
        self.pos = 0
        self.rate = rate
        # two periods back to back: any block up to a period long is one view,
        # and with a block size dividing the period the same few views come
        # back in turn (made once: consumers keep their C pointers)
        self.twice = np.concatenate([self.buf, self.buf])
        self._views = {}

    def read(self, n):
        pos = self.pos
        self.pos = (pos + n) % self.period
        if n > self.twice.size - pos:   # longer than a period: a copy
            return self.buf[(pos + np.arange(n)) % self.period]
        v = self._views.get((pos, n))
        if v is None:
            if len(self._views) >= 64:
                self._views.clear()     # odd block sizes: views are cheap to remake
            v = self._views[(pos, n)] = self.twice[pos:pos + n]
            v.flags.writeable = False   # shared between reads: nobody may change it
        return v


class Mixer:
    """Base source plus injected clips, summed with saturation.

    `replace=True` clips replace the base instead (a file fed as the only
    input, e.g. to simulate a dead microphone)."""

    def __init__(self, base, rate=RATE):
        self.base = base
        self.rate = rate
        self.clips = []          # [pcm, pos, replace]
        self.ended = False

    def inject(self, pcm, replace=False):
        self.clips.append([np.asarray(pcm, dtype=np.int16), 0, replace])

    def busy(self):
        return bool(self.clips)

    def read(self, n):
        if not self.clips and not self.ended:
            base = self.base.read(n)        # the common case: nothing injected
            if base is not None:
                return base
            self.ended = True
            return None
        base = self.base.read(n) if not self.ended else None
        if base is None:
            self.ended = True
            if not self.clips:
                return None
            base = np.zeros(n, np.int16)
        if not self.clips:
            return base
        acc = base.astype(np.int32)
        keep = []
        for clip in self.clips:
            pcm, pos, replace = clip
            part = pcm[pos:pos + n]
            if replace:
                acc[: len(part)] = 0
            acc[: len(part)] += part
            clip[1] = pos + len(part)
            if clip[1] < len(pcm):
                keep.append(clip)
        self.clips = keep
        return np.clip(acc, -32768, 32767).astype(np.int16)


def open_source(spec, rate=RATE, device=None, stdin=None):
    """'-' = stdin, a path = WAV file, 'alsa' = board capture device, None = sim room."""
    if spec is None or spec == "room":
        return NoiseSource(rate=rate)
    if spec == "-":
        import sys
        return StreamSource(stdin or sys.stdin.buffer, rate)
    if spec == "alsa":
        if not device:
            raise AudioError("board has no [audio] device for ALSA capture")
        return AlsaSource(device, rate)
    if not os.path.exists(spec):
        raise AudioError("%s: no such file" % spec)
    return wav_source(spec)
