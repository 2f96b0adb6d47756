"""Helpers for the SMP tests: requests as bytes, a server on a real launcher."""
import cbor2

from hearth.smp import framing
from hearth.smp.header import OP_WRITE, Header, V2


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


def make_kit(directory, slot_bytes, big_bytes):
    """A key, a test board and signed images: v1 1.0.0, v2 1.1.0 (carrying
    big_bytes of pseudo-random filler, seeded with its size), v0 0.9.0."""
    import os
    import random
    from hearth.boot.device import load_board
    from hearth_tools.testing import testkit
    k = type("Kit", (), {})()
    k.key = testkit.keygen(os.path.join(str(directory), "key.pem"))
    k.board_path = testkit.write_board(str(directory), slot_bytes=slot_bytes)
    k.board = load_board(k.board_path)
    k.v1 = testkit.small_image(k.key, k.board_path, "1.0.0", 1)
    filler = random.Random(big_bytes).randbytes(big_bytes)      # fixed seed: the size
    k.v2 = testkit.small_image(k.key, k.board_path, "1.1.0", 2,
                               files={"app.py": testkit.APP, "data/big.bin": filler})
    k.v0 = testkit.small_image(k.key, k.board_path, "0.9.0", 0)
    return k


def provisioned(kit, storage_dir):
    """A launcher on a fresh storage running kit.v1, confirmed."""
    import io
    from hearth.boot.launcher import Launcher, init
    from hearth.boot.storage import DirStorage
    st = DirStorage(str(storage_dir))
    init(st, kit.board, [("key.pem", open(kit.key, "rb").read())])
    L = Launcher(st)
    L.install(io.BytesIO(kit.v1))
    L.materialize(L.select())
    L.confirm()
    return L
