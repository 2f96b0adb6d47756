"""Bounded decoders of a segment body: read(n) never returns more than n bytes,
whatever the body says, so a decompression bomb costs time only up to the
output the segment declared (and that is bounded by the header).
"""
import lzma

from .errors import DeltaError
from .format import C_LZMA, C_STORED, C_ZSTD, LZMA_DICT, MAX_WINDOW

FEED = 1 << 14


class PatchReader:
    """The patch stream, read once and sequentially; counts the offset."""

    def __init__(self, stream):
        self._s = stream
        self.offset = 0

    def read_exact(self, n, what):
        parts = []
        got = 0
        while got < n:
            b = self._s.read(n - got)
            if not b:
                raise DeltaError("truncated", "patch truncated in %s at byte %d: the download is incomplete, "
                                 "fetch the whole patch" % (what, self.offset + got))
            parts.append(b)
            got += len(b)
        self.offset += n
        return b"".join(parts) if len(parts) != 1 else bytes(parts[0])

    def skip_to(self, offset):
        if offset < self.offset:
            raise DeltaError("bad-checkpoint", "checkpoint patch offset %d is behind the reader" % offset)
        seek = getattr(self._s, "seek", None)
        if seek is not None and getattr(self._s, "seekable", lambda: True)():
            try:
                self._s.seek(offset - self.offset, 1)
                self.offset = offset
                return
            except OSError:
                pass
        while self.offset < offset:
            self.read_exact(min(FEED, offset - self.offset), "the part already applied")

    def at_end(self):
        return not self._s.read(1)


class Body:
    """The body of one segment: file-like, ends after body_len bytes."""

    def __init__(self, reader, length):
        self._r = reader
        self.left = length

    def read(self, n=-1):
        if n is None or n < 0 or n > self.left:
            n = self.left
        if n == 0:
            return b""
        b = self._r.read_exact(n, "a segment body")
        self.left -= n
        return b


class Stored:
    def __init__(self, body):
        self._b = body

    def read(self, n):
        return self._b.read(n)

    def finished(self):
        return self._b.left == 0


class Lzma:
    def __init__(self, body):
        self._b = body
        self._d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2,
                                                                   "dict_size": LZMA_DICT}])

    def read(self, n):
        d = self._d
        try:
            while True:
                if d.eof:
                    return b""
                data = b"" if not d.needs_input else self._b.read(FEED)
                if d.needs_input and not data:
                    raise DeltaError("truncated", "LZMA segment body ends before its stream does")
                out = d.decompress(data, n)
                if out:
                    return out
        except lzma.LZMAError as e:
            raise DeltaError("corrupt", "LZMA segment body does not decode (%s): the patch is damaged" % e) from None

    def finished(self):
        return self._d.eof and not self._d.unused_data and self._b.left == 0


class Zstd:
    def __init__(self, body, dictionary=None):
        import zstandard
        self._b = body
        kw = {"max_window_size": MAX_WINDOW}
        if dictionary is not None:
            kw["dict_data"] = zstandard.ZstdCompressionDict(dictionary, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        self._zerr = zstandard.ZstdError
        self._r = zstandard.ZstdDecompressor(**kw).stream_reader(body, read_size=FEED, read_across_frames=False)

    def read(self, n):
        try:
            return self._r.read(n)
        except self._zerr as e:
            msg = str(e)
            code = "window-too-big" if "window" in msg.lower() or "memory" in msg.lower() else "corrupt"
            raise DeltaError(code, "zstd segment body does not decode (%s): the patch is damaged or was not "
                             "made by `hearth delta create`" % msg) from None

    def finished(self):
        return self._b.left == 0


def decoder(codec, body):
    if codec == C_STORED:
        return Stored(body)
    if codec == C_LZMA:
        return Lzma(body)
    if codec == C_ZSTD:
        return Zstd(body)
    raise DeltaError("bad-segment", "unknown codec %d" % codec)


class Decoded:
    """Exact reads and varints over a decoder, through one small look-ahead buffer."""

    def __init__(self, dec):
        self._d = dec
        self._buf = b""
        self._pos = 0

    def _fill(self):
        b = self._d.read(FEED)
        if not b:
            return False
        self._buf = self._buf[self._pos:] + b
        self._pos = 0
        return True

    def read_upto(self, n):
        if self._pos >= len(self._buf) and not self._fill():
            return b""
        p = self._pos
        b = self._buf[p:p + n]
        self._pos = p + len(b)
        return b

    def read_exact(self, n):
        p = self._pos
        if p + n <= len(self._buf):
            self._pos = p + n
            return self._buf[p:p + n]
        parts = []
        while n:
            b = self.read_upto(n)
            if not b:
                raise DeltaError("truncated", "segment instructions end early: the patch is damaged")
            parts.append(b)
            n -= len(b)
        return b"".join(parts)

    def byte(self):
        if self._pos >= len(self._buf) and not self._fill():
            raise DeltaError("truncated", "segment instructions end early: the patch is damaged")
        c = self._buf[self._pos]
        self._pos += 1
        return c

    def varint(self):
        n = shift = 0
        for _ in range(10):
            b = self.byte()
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
        raise DeltaError("corrupt", "varint longer than 10 bytes in a segment: the patch is damaged")

    def at_end(self):
        return self._pos >= len(self._buf) and not self._d.read(1) and self._d.finished()
