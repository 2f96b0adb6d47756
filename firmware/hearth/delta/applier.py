"""The streaming applier: patch read once, base read by offset, result written in order.

Memory is bounded by the format's limits (64 KiB work chunks, a 1 MiB LZMA2
dictionary or zstd window, a zstd dictionary of at most 1 MiB), not by the
size of the base, the result or the patch. Progress can be checkpointed at
every segment boundary (see docs/DELTA.md "Resume").
"""
import binascii
import hashlib
import zlib

from . import format as F
from .decode import Decoded, PatchReader, Body, Zstd, decoder
from .errors import DeltaError
from .io import CHUNK, as_base, atomic_file, base_chunks



class Summary:
    def __init__(self, header, resumed_from):
        self.base_size = header.base_size
        self.result_size = header.result_size
        self.result_sha256 = header.result_sha256.hex()
        self.segments = header.segments
        self.kind = "image" if header.kind == F.KIND_IMAGE else "plain"
        self.resumed_from = resumed_from

    def describe(self):
        return {"base_size": self.base_size, "result_size": self.result_size, "result_sha256": self.result_sha256,
                "segments": self.segments, "kind": self.kind, "resumed_from": self.resumed_from}


def add_bytes(base, diff):
    """(base[i] + diff[i]) & 0xff for equal-length byte strings, without a Python loop:
    one carry-less add over big integers (SWAR: the low 7 bits add, the top bit is a xor)."""
    n = len(diff)
    if n == 0:
        return b""
    lo = _low7(n)
    a = int.from_bytes(base, "little")
    d = int.from_bytes(diff, "little")
    s = ((a & lo) + (d & lo)) ^ ((a ^ d) & ~lo & ((1 << (8 * n)) - 1))
    return s.to_bytes(n, "little")


_LOW7_CACHE = {}


def _low7(n):
    m = _LOW7_CACHE.get(n)
    if m is None:
        m = int.from_bytes(b"\x7f" * n, "little")
        if len(_LOW7_CACHE) > 4:
            _LOW7_CACHE.clear()
        _LOW7_CACHE[n] = m
    return m


def read_header(patch_stream):
    """Parse and check the patch header (first HEADER_SIZE bytes of the stream)."""
    return F.parse_header(PatchReader(patch_stream).read_exact(F.HEADER_SIZE, "the header"))


def header_id(header):
    return hashlib.sha256(header.raw).hexdigest()


def check_base(header, base):
    """The base must be the one the patch was made from: size, then SHA-256."""
    if base.size != header.base_size:
        raise DeltaError("base-mismatch", "the patch is for a %d-byte base, this one has %d bytes: make the "
                         "patch from the image this device runs" % (header.base_size, base.size))
    h = hashlib.sha256()
    for b in base_chunks(base):
        h.update(b)
    if h.digest() != header.base_sha256:
        raise DeltaError("base-mismatch", "the patch is for base sha256 %s..., this one is %s...: make the patch "
                         "from the image this device runs" % (header.base_sha256.hex()[:16], h.hexdigest()[:16]))


class _Out:
    """Writes the result, hashing it (whole result; digest_at prefix; the segment's CRC32)."""

    def __init__(self, writer, header):
        self.w = writer
        self.h = header
        self.sha = hashlib.sha256()
        self.pos = 0
        self.crc = 0
        self.prefix_digest = None
        self.limit = 0               # end of the current segment
        self._pending = []
        self._pending_n = 0

    def _hash(self, b):
        at = self.h.digest_at
        if at and self.pos < at <= self.pos + len(b):
            k = at - self.pos
            self.sha.update(b[:k])
            self.prefix_digest = self.sha.copy().digest()
            self.sha.update(b[k:])
        else:
            self.sha.update(b)
        self.pos += len(b)

    def rehash(self, chunks):
        for b in chunks:
            self._hash(b)

    def emit(self, b):
        if self.pos + len(b) > self.limit:
            raise DeltaError("out-of-range", "segment writes past its declared output at byte %d" % self.pos)
        self._hash(b)
        self.crc = zlib.crc32(b, self.crc)
        # small pieces are gathered into CHUNK-sized writes (fewer storage operations)
        if self._pending or len(b) < CHUNK:
            self._pending.append(b)
            self._pending_n += len(b)
            if self._pending_n >= CHUNK:
                self.flush()
        else:
            self.w.write(b)

    def flush(self):
        if self._pending:
            self.w.write(b"".join(self._pending))
            self._pending = []
            self._pending_n = 0


def _check_range(seg, off, n, left, base_size):
    if not 0 < n <= left:
        raise DeltaError("out-of-range", "instruction of %d bytes where %d remain in the segment" % (n, left))
    lo, hi = (seg.base_off, seg.base_off + seg.base_len)
    if off < lo or off + n > hi or off + n > base_size:
        raise DeltaError("out-of-range", "instruction reads base bytes %d..%d outside the segment's base window "
                         "%d..%d" % (off, off + n, lo, hi))


def _run_stream(seg, src, base, out, header):
    left = seg.out_len
    cursor = seg.base_off
    while left:
        op = src.byte()
        if op > F.OP_HEX:
            raise DeltaError("corrupt", "unknown instruction 0x%02x: the patch is damaged" % op)
        if op == F.OP_HEX:
            n = src.varint()
            if n & 1 or not 0 < n <= left:
                raise DeltaError("out-of-range", "hex run of %d characters where %d bytes remain" % (n, left))
            left -= n
            while n:
                k = min(n, CHUNK)
                out.emit(binascii.hexlify(src.read_exact(k // 2)))
                n -= k
            continue
        if op == F.OP_DIGEST:
            if not header.digest_at or out.prefix_digest is None or left < 32:
                raise DeltaError("corrupt", "digest instruction before the image's hashed area is complete")
            out.emit(out.prefix_digest)
            left -= 32
            continue
        if op == F.OP_LITERAL:
            n = src.varint()
            if not 0 < n <= left:
                raise DeltaError("out-of-range", "literal of %d bytes where %d remain in the segment" % (n, left))
            left -= n
            while n:
                b = src.read_upto(min(n, CHUNK))
                if not b:
                    raise DeltaError("truncated", "segment instructions end inside a literal: the patch is damaged")
                out.emit(b)
                n -= len(b)
            continue
        off = cursor + F.unzigzag(src.varint())
        n = src.varint()
        _check_range(seg, off, n, left, base.size)
        left -= n
        cursor = off + n
        while n:
            k = min(n, CHUNK)
            b = base.read_at(off, k)
            out.emit(b if op == F.OP_COPY else add_bytes(b, src.read_exact(k)))
            off += k
            n -= k
    if not src.at_end():
        raise DeltaError("overrun", "segment body decodes to more than its declared %d output bytes "
                         "(a damaged patch or a decompression bomb)" % seg.out_len)


def _run_zdict(seg, body, base, out):
    dictionary = None
    if seg.base_len:
        dictionary = bytearray()
        for off in range(seg.base_off, seg.base_off + seg.base_len, CHUNK):
            dictionary += base.read_at(off, min(CHUNK, seg.base_off + seg.base_len - off))
    dec = Zstd(body, dictionary)
    dictionary = None                  # zstd holds its own copy: drop ours before decoding
    left = seg.out_len
    while left:
        b = dec.read(min(left, CHUNK))
        if not b:
            raise DeltaError("truncated", "zstd segment ends %d bytes before its declared output" % left)
        out.emit(b)
        left -= len(b)
    if dec.read(1) or not dec.finished():
        raise DeltaError("overrun", "zstd segment decodes to more than its declared %d output bytes "
                         "(a damaged patch or a decompression bomb)" % seg.out_len)


def apply(base_reader, patch_stream, out_writer, checkpoint=None, max_result=None):
    """Apply a patch. Returns a Summary. Raises DeltaError (nothing else for a bad patch).

    max_result: refuse (before writing) a result larger than this (the slot size).
    """
    base = as_base(base_reader)
    r = PatchReader(patch_stream)
    header = F.parse_header(r.read_exact(F.HEADER_SIZE, "the header"))
    if max_result is not None and header.result_size > max_result:
        raise DeltaError("result-too-big", "the patch makes a %d-byte result, the slot holds %d bytes"
                         % (header.result_size, max_result))
    check_base(header, base)
    out = _Out(out_writer, header)
    first = 0
    progress = checkpoint.load() if checkpoint is not None else None
    hid = header_id(header)
    if progress and progress.get("header") == hid and 0 < progress.get("segment", 0) <= header.segments:
        r.skip_to(progress["patch_offset"])
        out.rehash(checkpoint.output_chunks())
        if out.pos != progress["out_offset"]:
            raise DeltaError("bad-checkpoint", "the checkpoint says %d bytes were written, storage holds %d: "
                             "remove the partial update and apply again" % (progress["out_offset"], out.pos))
        first = progress["segment"]
    elif progress and hasattr(checkpoint, "discard"):
        checkpoint.discard()             # progress of another patch: start from nothing
    resumed_from = out.pos
    for i in range(first, header.segments):
        seg = F.read_segment(r, header, out.pos)
        body = Body(r, seg.body_len)
        out.crc = 0
        out.limit = out.pos + seg.out_len
        if seg.method == F.M_ZDICT:
            _run_zdict(seg, body, base, out)
        else:
            _run_stream(seg, Decoded(decoder(seg.codec, body)), base, out, header)
        out.flush()
        if body.left:
            raise DeltaError("overrun", "segment body has %d bytes its instructions do not use" % body.left)
        if out.crc != seg.out_crc:
            raise DeltaError("segment-crc", "segment %d output does not match its checksum: the base differs from "
                             "the one the patch was made for, or the patch is damaged" % i)
        if checkpoint is not None:
            checkpoint.save({"header": hid, "segment": i + 1, "patch_offset": r.offset, "out_offset": out.pos})
    if out.pos != header.result_size:
        raise DeltaError("truncated", "segments produce %d bytes, the header declares %d"
                         % (out.pos, header.result_size))
    if not r.at_end():
        raise DeltaError("trailing-data", "data after the last segment: the patch is damaged")
    if out.sha.digest() != header.result_sha256:
        raise DeltaError("result-mismatch", "the result's sha256 is not the one the patch declares: the base "
                         "differs from the one the patch was made for, or the patch is damaged")
    return Summary(header, resumed_from)


def apply_file(old_path, patch_path, out_path, max_result=None):
    """Apply PATCH to OLD into OUT: written to OUT.tmp, fsynced, renamed (a failed apply leaves no OUT)."""
    base = as_base(old_path)
    try:
        with open(patch_path, "rb") as p, atomic_file(out_path) as f:
            return apply(base, p, f, max_result=max_result)
    finally:
        base.close()
