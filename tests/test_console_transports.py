"""Console transports and the service entry point: the same console over a
UART (pyserial, here on a pty pair), a TCP loopback and a pty; poll(now,
budget) serves a flood in slices without ever blocking."""
import json
import os
import select
import socket
import time

import pytest

from hearth.console import Console, SerialTransport, TcpTransport, make_shell
from hearth.core.shell import Shell
from console_util import app  # noqa: F401  (the fixture)

PROMPT = b"hearth> "


def _pump(con, read, until, count=1, timeout=10.0):
    """Poll the console and read the far end until `until` was seen `count`
    times (the timeout only keeps a broken console from hanging the test)."""
    buf = b""
    end = time.monotonic() + timeout
    while buf.count(until) < count and time.monotonic() < end:
        con.poll()
        buf += read()
    return buf


def _fd_reader(fd):
    def read():
        if select.select([fd], [], [], 0.01)[0]:
            return os.read(fd, 65536)
        return b""
    return read


def test_uart_through_pyserial_on_a_pty_pair(app):
    """The board side opens the pty slave as its UART; the test is the host's
    terminal on the master."""
    host, dev = os.openpty()
    con = Console(SerialTransport(os.ttyname(dev), baudrate=115200), make_shell(app))
    try:
        read = _fd_reader(host)
        os.write(host, b"statx\x7fus --json\r")
        out = _pump(con, read, PROMPT)
        assert out.startswith(b"statx\b \bus --json\r\n"), out          # echoed, edited
        reply = json.loads(out.split(b"\r\n")[1])
        assert reply["ok"] and reply["result"]["board"] == "sim"
        os.write(host, b"door open\n")
        assert b"door opened" in _pump(con, read, PROMPT)
        assert con.transport.fault == ""
    finally:
        con.close()
        os.close(host)
        os.close(dev)


def test_uart_never_blocks_on_a_stalled_line(app):
    """Nobody reads the host side: the console keeps polling, output past its
    bound is dropped and counted (pyserial's own write would spin on EAGAIN)."""
    host, dev = os.openpty()
    con = Console(SerialTransport(os.ttyname(dev)), make_shell(app))
    try:
        for _ in range(300):
            con.write("x" * 1000 + "\n")
        con.poll()
        assert con.dropped > 0
        assert len(con.out) <= 64 * 1024
    finally:
        con.close()
        os.close(host)
        os.close(dev)


def test_uart_that_does_not_exist_is_a_clear_error():
    with pytest.raises(OSError, match="is the port right"):
        SerialTransport("/dev/does-not-exist")


def test_tcp_loopback_one_client_at_a_time(app):
    tr = TcpTransport()
    con = Console(tr, make_shell(app))
    assert tr.address[0] == "127.0.0.1" and not tr.interactive
    try:
        c = socket.create_connection(tr.address)
        c.setblocking(False)

        def read():
            if select.select([c], [], [], 0.01)[0]:
                return c.recv(65536)
            return b""

        c.sendall(b"status --json\r\nhalf a li")
        out = _pump(con, read, PROMPT)
        assert not out.startswith(b"status")                    # TCP: no echo
        assert json.loads(out.split(b"\r\n")[0])["result"]["board"] == "sim"
        # a new client replaces the old one and starts with an empty line
        c2 = socket.create_connection(tr.address)
        c2.setblocking(False)
        c2.sendall(b"ne\r\n")

        def read2():
            if select.select([c2], [], [], 0.01)[0]:
                return c2.recv(65536)
            return b""
        out = _pump(con, read2, PROMPT)
        assert b"unknown command 'ne'" in out, out
        c.close()
        c2.close()
        con.poll()
        con.write("nobody listening\n")                         # dropped, not queued
        assert not con.out
    finally:
        con.close()


class _FakeTransport:
    interactive = False
    session = 1
    fault = ""
    path = "fake"

    def __init__(self, data):
        self.data = data
        self.sent = b""

    def read(self, n):
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk

    def write(self, data):
        self.sent += data
        return len(data)

    def close(self):
        pass


def test_poll_serves_a_flood_within_its_budget():
    """Each command costs 1 ms on a fake timer: a 4 ms budget runs four lines a
    poll (never fewer than one), the rest wait in order."""
    clock = [0.0]
    ran = []

    def cmd(args):
        clock[0] += 0.001
        ran.append(args[0])
        return None, ""
    sh = Shell()
    sh.add("c", cmd, "N", "")
    tr = _FakeTransport(b"".join(b"c %d\n" % i for i in range(20)))
    con = Console(tr, sh, timer=lambda: clock[0])
    assert con.poll(0.0, 0.004) is True and ran == ["0", "1", "2", "3"]
    assert con.poll(0.1, 0.0) is True and len(ran) == 5           # a zero budget still makes progress
    while con.poll(0.2, 0.004):
        pass
    assert ran == [str(i) for i in range(20)] and con.lines == 20
    assert tr.sent.count(PROMPT) == 20


def test_a_failing_frame_hook_is_counted_not_raised():
    def hook(frame):
        raise ValueError("bad frame")
    tr = _FakeTransport(b"\x06\x09AAAA\nhelp\n")
    con = Console(tr, Shell(), frame_handler=hook)
    while con.poll():
        pass
    assert con.smp_frames == 1 and con.frame_errors == 1 and b"list commands" in tr.sent


def test_output_is_safe_for_a_terminal():
    tr = _FakeTransport(b"")
    con = Console(tr, Shell())
    con.log_sink(1.0, 20, "audio", "injected \x1b]0;pwned\x07.wav")
    assert b"\x1b" not in tr.sent and b"\\x1b]0;pwned\\x07.wav\r\n" in tr.sent
