"""SMP over a serial console (Zephyr's "SMP over console" framing).

A packet goes out as base64(len_be16 + packet + crc16_be16), where len counts
the packet and the CRC, and the CRC is CRC-16/XMODEM (poly 0x1021, init 0)
over the packet. The base64 text is cut into lines: the first starts with
0x06 0x09, the others with 0x04 0x14, each ends with LF, each at most
MAX_LINE bytes with its marker and LF. Every line is a whole number of base64
quads, so each decodes on its own (padding only at the very end).

Reassembler takes the lines one at a time (the console's line discipline
already split them and kept the marker) and returns a packet when the
length the first line announced has arrived, or raises FrameError naming
what is wrong; the decoded frame is bounded by `max_frame` bytes, so a
length field or a stream of continuations cannot grow memory.
"""
import binascii

from .errors import ECORRUPT, EINVAL, EMSGSIZE

START = b"\x06\x09"
CONT = b"\x04\x14"
MAX_LINE = 127                      # with the 2-byte marker and the LF (Zephyr MCUMGR_SERIAL_MAX_FRAME)


def _crc_table():
    table = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        table.append(c & 0xFFFF)
    return tuple(table)


_TABLE = _crc_table()


def crc16(data, crc=0):
    """CRC-16/XMODEM; crc16(b"123456789") == 0x31C3."""
    t = _TABLE
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ t[((crc >> 8) ^ b) & 0xFF]
    return crc


class FrameError(ValueError):
    """A malformed frame. `code` is the SMP rc it earns; `header` the packet's
    first 8 bytes when they arrived (so the error can answer that request)."""

    def __init__(self, code, message, header=None):
        ValueError.__init__(self, message)
        self.code = code
        self.header = header


def encode(packet, max_line=MAX_LINE):
    """The console lines (one bytes object, LFs included) that carry `packet`."""
    n = len(packet) + 2
    if n > 0xFFFF:
        raise ValueError("SMP packet of %d bytes does not fit the 16-bit length field" % len(packet))
    raw = bytes([n >> 8, n & 0xFF]) + bytes(packet)
    c = crc16(packet)
    raw += bytes([c >> 8, c & 0xFF])
    text = binascii.b2a_base64(raw, newline=False)
    per = (max_line - 3) // 4 * 4
    out = []
    for i in range(0, len(text), per):
        out.append((START if i == 0 else CONT) + text[i:i + per] + b"\n")
    return b"".join(out)


class Reassembler:
    """feed(line) -> packet bytes, or None while more lines are due; raises FrameError."""

    def __init__(self, max_frame):
        self.max_frame = max_frame          # decoded bytes: length field + packet + CRC
        self.buf = None                     # bytearray while a frame is being read
        self.want = 0

    def reset(self):
        self.buf = None
        self.want = 0

    def _fail(self, code, message):
        header = bytes(self.buf[2:10]) if self.buf is not None and len(self.buf) >= 10 else None
        self.reset()
        raise FrameError(code, message, header)

    def feed(self, line):
        line = bytes(line).rstrip(b"\r\n")
        marker, body = line[:2], line[2:]
        if marker == START:
            self.buf = bytearray()
            self.want = 0
        elif marker != CONT:
            raise FrameError(EINVAL, "not an SMP frame line (it must start with 0x06 0x09 or 0x04 0x14)")
        elif self.buf is None:
            raise FrameError(EINVAL, "SMP continuation line without a first line: dropped")
        if len(body) % 4:
            self._fail(ECORRUPT, "SMP frame line of %d base64 characters (each line must be a multiple of 4)"
                       % len(body))
        if len(self.buf) + len(body) // 4 * 3 > self.max_frame + 2:
            self._fail(EMSGSIZE, "SMP frame longer than the %d-byte buffer (MCUmgr parameters say so)"
                       % self.max_frame)
        try:
            self.buf += binascii.a2b_base64(body, strict_mode=True)
        except (binascii.Error, ValueError):
            self._fail(ECORRUPT, "SMP frame line is not base64")
        if not self.want and len(self.buf) >= 2:
            self.want = ((self.buf[0] << 8) | self.buf[1]) + 2
            if self.want < 2 + 8 + 2:
                self._fail(EINVAL, "SMP frame length %d is shorter than a header and CRC" % (self.want - 2))
            if self.want > self.max_frame:
                self._fail(EMSGSIZE, "SMP frame of %d bytes is larger than the %d-byte buffer"
                           % (self.want, self.max_frame))
        if not self.want or len(self.buf) < self.want:
            return None
        if len(self.buf) > self.want:
            self._fail(EINVAL, "SMP frame holds %d bytes after its length field, which says %d"
                       % (len(self.buf) - 2, self.want - 2))
        if crc16(memoryview(self.buf)[2:]) != 0:
            self._fail(ECORRUPT, "SMP frame CRC does not match: the line was damaged, send it again")
        packet = bytes(self.buf[2:-2])
        self.reset()
        return packet
