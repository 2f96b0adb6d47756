"""The Hearth delta patch format, version 1 (docs/DELTA.md).

    header   90 bytes: magic "HDLT", version, kind, base size + SHA-256,
             result size + SHA-256, digest_at, segment count, CRC32 of the header
    segment  header (method << 4 | codec, then varints: body length, output
             length, base window offset and length; CRC32 of the output) + body

Every field is untrusted: parse_header/read_segment check them against the
limits below and against each other before the applier acts on one.
"""
import struct
import zlib

from .errors import DeltaError

MAGIC = b"HDLT"
VERSION = 1

KIND_PLAIN = 0          # any file: the generic segmented path
KIND_IMAGE = 1          # a Hearth image: segments follow header, archive entries, TLVs
KINDS = (KIND_PLAIN, KIND_IMAGE)

# Segment methods.
#   STREAM  body = codec(instructions): COPY / ADD / LITERAL / DIGEST (below),
#           base offsets inside [base_off, base_off + base_len)
#   ZDICT   body = one zstd frame, dictionary = base[base_off:base_off + base_len]
M_STREAM = 0
M_ZDICT = 1
METHODS = {M_STREAM: "stream", M_ZDICT: "zdict"}

# Codecs of a STREAM body (a ZDICT body is always zstd).
C_STORED = 0
C_LZMA = 1              # raw LZMA2, dictionary LZMA_DICT
C_ZSTD = 2              # one frame, window <= MAX_WINDOW
CODECS = {C_STORED: "stored", C_LZMA: "lzma", C_ZSTD: "zstd"}

# Instructions of a STREAM body: a tag byte (low 2 bits: the op), then varints.
#   COPY     zigzag(off - cursor), n      out += base[off:off+n]
#   ADD      zigzag(off - cursor), n, n bytes d   out += (base[off+i] + d[i]) & 0xff
#   LITERAL  n, n bytes                   out += bytes
#   DIGEST                                out += SHA-256 of out[0:digest_at] (the image's SHA256 TLV)
#   HEX      n, n/2 bytes                 out += their lowercase hex (n even): the manifest's hashes
# After COPY/ADD the cursor is off + n (bsdiff's relative seeks compress well).
OP_COPY, OP_ADD, OP_LITERAL, OP_DIGEST, OP_HEX = 0, 1, 2, 3, 4

# Limits: what keeps decode memory small and bounded, whatever the patch says.
MAX_SEGMENT_OUT = 4 << 20       # output of one segment (the resume granularity)
MAX_WINDOW = 1 << 20            # zstd window and LZMA2 dictionary
LZMA_DICT = 1 << 20
MAX_ZDICT = 1 << 20             # zstd dictionary (a base entry) held in memory
MAX_SEGMENTS = 1 << 20
MAX_VARINT_BYTES = 10

_HDR = struct.Struct("<4sBBI32sI32sII")       # + CRC32
HEADER_SIZE = _HDR.size + 4


class Header:
    __slots__ = ("version", "kind", "flags", "base_size", "base_sha256", "result_size",
                 "result_sha256", "digest_at", "segments", "raw")

    def describe(self):
        return {"format": self.version, "kind": "image" if self.kind == KIND_IMAGE else "plain",
                "base_size": self.base_size, "base_sha256": self.base_sha256.hex(),
                "result_size": self.result_size, "result_sha256": self.result_sha256.hex(),
                "segments": self.segments}


class Segment:
    __slots__ = ("method", "codec", "body_len", "out_len", "base_off", "base_len", "out_crc")


def pack_header(kind, base_size, base_sha, result_size, result_sha, digest_at, segments):
    raw = _HDR.pack(MAGIC, VERSION, kind, base_size, base_sha, result_size, result_sha, digest_at, segments)
    return raw + struct.pack("<I", zlib.crc32(raw))


def parse_header(raw):
    if len(raw) < HEADER_SIZE:
        raise DeltaError("truncated", "patch truncated in its header (%d of %d bytes)" % (len(raw), HEADER_SIZE))
    raw = bytes(raw[:HEADER_SIZE])
    if raw[:4] != MAGIC:
        raise DeltaError("bad-magic", "not a Hearth delta patch (make one with `hearth delta create`)")
    h = Header()
    (_m, h.version, h.kind, h.base_size, h.base_sha256, h.result_size, h.result_sha256,
     h.digest_at, h.segments) = _HDR.unpack(raw[:_HDR.size])
    h.flags = 0
    if h.version != VERSION:
        raise DeltaError("bad-version", "patch format %d; this applier reads format %d: "
                         "make the patch with a matching `hearth delta create`" % (h.version, VERSION))
    if struct.unpack("<I", raw[_HDR.size:])[0] != zlib.crc32(raw[:_HDR.size]):
        raise DeltaError("bad-header", "patch header checksum mismatch: the patch is damaged, download it again")
    if h.kind not in KINDS:
        raise DeltaError("bad-header", "patch header has unknown kind %d" % h.kind)
    if h.digest_at and h.digest_at + 32 > h.result_size:
        raise DeltaError("bad-header", "patch digest position %d is past the result" % h.digest_at)
    if h.segments > MAX_SEGMENTS or (h.segments == 0) != (h.result_size == 0):
        raise DeltaError("bad-header", "patch declares %d segments for %d result bytes"
                         % (h.segments, h.result_size))
    if h.result_size > h.segments * MAX_SEGMENT_OUT:
        raise DeltaError("bad-header", "patch declares %d result bytes in only %d segments"
                         % (h.result_size, h.segments))
    h.raw = raw
    return h


def pack_segment(method, codec, body_len, out_len, base_off, base_len, out_crc):
    return (bytes([method << 4 | codec]) + varint(body_len) + varint(out_len) + varint(base_off)
            + varint(base_len) + struct.pack("<I", out_crc))


def read_segment(reader, header, out_done):
    """Read one segment header from a PatchReader and check it against the patch
    header and the output so far. No checksum of its own: every field is bounds-
    checked here, and the output CRC32 and the result SHA-256 catch the rest
    before anything reaches a slot."""
    mc = reader.read_exact(1, "a segment header")[0]
    fields = [_read_varint(reader) for _ in range(4)]
    (out_crc,) = struct.unpack("<I", reader.read_exact(4, "a segment header"))
    s = Segment()
    s.method, s.codec = mc >> 4, mc & 15
    s.body_len, s.out_len, s.base_off, s.base_len = fields
    s.out_crc = out_crc
    return check_segment(s, header, out_done)


def _read_varint(reader):
    n = shift = 0
    for _ in range(5):
        b = reader.read_exact(1, "a segment header")[0]
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n
        shift += 7
    raise DeltaError("bad-segment", "segment header field longer than 32 bits: the patch is damaged")


def check_segment(s, header, out_done):
    if s.method not in METHODS:
        raise DeltaError("bad-segment", "unknown segment method %d" % s.method)
    if s.codec not in CODECS or (s.method == M_ZDICT and s.codec != C_ZSTD):
        raise DeltaError("bad-segment", "unknown codec %d for a %s segment" % (s.codec, METHODS[s.method]))
    if not 0 < s.out_len <= MAX_SEGMENT_OUT:
        raise DeltaError("bad-segment", "segment output of %d bytes (1..%d allowed)" % (s.out_len, MAX_SEGMENT_OUT))
    if out_done + s.out_len > header.result_size:
        raise DeltaError("out-of-range", "segment output ends at byte %d, past the result (%d bytes)"
                         % (out_done + s.out_len, header.result_size))
    if s.base_off + s.base_len > header.base_size:
        raise DeltaError("out-of-range", "segment base window %d+%d is past the base (%d bytes)"
                         % (s.base_off, s.base_len, header.base_size))
    if s.method == M_ZDICT and s.base_len > MAX_ZDICT:
        raise DeltaError("bad-segment", "zstd dictionary of %d bytes (at most %d)" % (s.base_len, MAX_ZDICT))
    if s.codec == C_STORED and s.body_len > s.out_len * (2 + MAX_VARINT_BYTES * 2):
        raise DeltaError("bad-segment", "stored body of %d bytes for %d output bytes" % (s.body_len, s.out_len))
    return s


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n):
    return (n << 1) if n >= 0 else ((-n << 1) - 1)


def unzigzag(z):
    return (z >> 1) if not z & 1 else -((z + 1) >> 1)
