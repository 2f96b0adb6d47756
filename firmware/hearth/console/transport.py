"""Console transports: they only move bytes, and never block.

Each has read(n) -> bytes (b"" when nothing arrived), write(data) -> bytes
accepted (0 when the far end is not keeping up; everything when nobody is
there to read, so stale output does not pile up), close(), `interactive`
(a terminal that expects the device to echo), `session` (counts connections:
a new one starts with an empty line) and `fault` (the last I/O error, for
status; a transport that fails keeps answering b"" rather than raising).

* PtyTransport: the sim's console; `path` is the pty a terminal program opens.
* SerialTransport: a UART on a real board, opened and configured by pyserial.
* TcpTransport: a loopback listener for tests and host scripts (no echo).
"""
import errno
import os
import socket
import tty

_BUSY = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR)


class _FdTransport:
    """A non-blocking file descriptor (a pty master, a tty)."""

    interactive = True
    session = 1
    fault = ""

    def _read_fd(self, fd, n):
        try:
            data = os.read(fd, n)
        except OSError as e:
            if e.errno not in _BUSY and e.errno != errno.EIO:   # EIO: a pty with its far end shut
                self.fault = "read: %s" % e.strerror
            return b""
        return data                 # b"" is "nothing yet" on a raw tty (VMIN 0), not an end

    def _write_fd(self, fd, data):
        try:
            return os.write(fd, data)
        except OSError as e:
            if e.errno in _BUSY:
                return 0
            if e.errno != errno.EIO:
                self.fault = "write: %s" % e.strerror
            return len(data)        # nobody can read it: drop it


class PtyTransport(_FdTransport):
    """A pseudo-terminal: the device end is the master, the terminal program
    opens `path` (the slave), which is raw so the kernel neither echoes nor
    translates (the line discipline does that)."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)

    def read(self, n):
        return self._read_fd(self.master, n)

    def write(self, data):
        return self._write_fd(self.master, data)

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class SerialTransport(_FdTransport):
    """A UART (or any tty path, a pty slave included) through pyserial, which
    locks the port and sets speed, framing and raw mode. Bytes then move with
    os.read/os.write on its non-blocking descriptor: pyserial's own write with
    write_timeout=0 retries EAGAIN in a loop, so a stalled UART (flow control
    held) would hold the loop with it."""

    def __init__(self, port, baudrate=115200, **options):
        import serial       # pyserial: only boards with a UART console need it
        try:
            self.serial = serial.Serial(port, baudrate=baudrate, timeout=0, write_timeout=0,
                                        exclusive=True, **options)
        except (serial.SerialException, ValueError) as e:
            raise OSError("console %s: %s (is the port right, and free?)" % (port, e)) from None
        self.fd = self.serial.fileno()
        os.set_blocking(self.fd, False)
        self.path = port

    def read(self, n):
        return self._read_fd(self.fd, n)

    def write(self, data):
        return self._write_fd(self.fd, data)

    def close(self):
        try:
            self.serial.close()
        except Exception:       # closing a port whose device vanished
            pass


class TcpTransport:
    """A TCP listener (loopback by default), one client at a time: a new
    connection replaces the old one. `address` is (host, port)."""

    interactive = False

    def __init__(self, host="127.0.0.1", port=0):
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((host, port))
        self.server.listen(1)
        self.server.setblocking(False)
        self.address = self.server.getsockname()
        self.path = "tcp:%s:%d" % self.address
        self.client = None
        self.session = 0
        self.fault = ""

    def _accept(self):
        try:
            conn, _ = self.server.accept()
        except OSError:             # nobody waiting (or the backlog failed): try next poll
            return
        conn.setblocking(False)
        self._drop()
        self.client = conn
        self.session += 1

    def _drop(self):
        if self.client is not None:
            try:
                self.client.close()
            except OSError:
                pass
            self.client = None

    def read(self, n):
        self._accept()
        if self.client is None:
            return b""
        try:
            data = self.client.recv(n)
        except OSError as e:
            if e.errno in _BUSY:
                return b""
            self.fault = "read: %s" % e
            self._drop()
            return b""
        if not data:
            self._drop()            # the client hung up
        return data

    def write(self, data):
        if self.client is None:
            return len(data)
        try:
            return self.client.send(data)
        except OSError as e:
            if e.errno in _BUSY:
                return 0
            self.fault = "write: %s" % e
            self._drop()
            return len(data)

    def close(self):
        self._drop()
        self.server.close()
