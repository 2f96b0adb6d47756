"""Helpers for the SMP tests: requests as bytes, a server on a real launcher."""
import cbor2

from hearth.smp import framing
from hearth.smp.header import OP_READ, OP_WRITE, Header, V2


def packet(group, command, body=None, op=OP_WRITE, seq=1, version=V2):
    data = b"" if body is None else cbor2.dumps(body)
    return Header(op, group, command, seq, len(data), version).pack() + data


def decode(pkt):
    h = Header.unpack(pkt)
    return h, cbor2.loads(pkt[8:]) if pkt[8:] else {}


def lines(pkt):
    return [l for l in framing.encode(pkt).split(b"\n") if l]


class Wire:
    """A console frame hook driven line by line; answers decoded."""

    def __init__(self, hook):
        self.hook = hook
        self.later = []
        hook.send = self.later.append

    def feed_lines(self, ls):
        out = b""
        for l in ls:
            r = self.hook(l)
            if r:
                out += r
        return out

    def request(self, pkt, server=None):
        out = self.feed_lines(lines(pkt))
        while not out and server is not None and server.busy():
            server.poll(0.0, 0.05)
            out = b"".join(self.later)
            self.later.clear()
        return unframe(out)


def unframe(data):
    r = framing.Reassembler(1 << 20)
    for l in data.split(b"\n"):
        if l:
            p = r.feed(l)
            if p is not None:
                return decode(p)
    raise AssertionError("no whole SMP answer in %r" % data[:200])
