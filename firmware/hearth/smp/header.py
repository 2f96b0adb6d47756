"""The 8-byte SMP header, the same layout in SMP v1 and v2:

    byte 0  [res:3][version:2][op:3]   version 0 = v1, 1 = v2
    byte 1  flags
    2-3     data length (big-endian): the CBOR body's length
    4-5     group id (big-endian)
    6       sequence (a response echoes the request's)
    7       command id
"""
import struct

SIZE = 8
_FMT = "!BBHHBB"

OP_READ, OP_READ_RSP, OP_WRITE, OP_WRITE_RSP = 0, 1, 2, 3
V1, V2 = 0, 1


class HeaderError(ValueError):
    """A packet too short for its header, or a data length that disagrees with it."""


class Header:
    def __init__(self, op, group, command, seq=0, length=0, version=V2, flags=0):
        self.op = op
        self.group = group
        self.command = command
        self.seq = seq
        self.length = length
        self.version = version
        self.flags = flags

    @classmethod
    def unpack(cls, packet):
        if len(packet) < SIZE:
            raise HeaderError("packet of %d bytes is shorter than the 8-byte SMP header" % len(packet))
        b0, flags, length, group, seq, command = struct.unpack(_FMT, bytes(packet[:SIZE]))
        return cls(b0 & 7, group, command, seq, length, (b0 >> 3) & 3, flags)

    def pack(self):
        return struct.pack(_FMT, ((self.version & 3) << 3) | (self.op & 7), self.flags, self.length,
                           self.group, self.seq & 0xFF, self.command)

    def response(self, length):
        """The header of the answer to this request: op + 1, same group, command, sequence."""
        return Header(self.op | 1, self.group, self.command, self.seq, length, min(self.version, V2))

    def __repr__(self):
        return "Header(op=%d, group=%d, command=%d, seq=%d, length=%d, v%d)" % (
            self.op, self.group, self.command, self.seq, self.length, self.version + 1)
