"""PtyTransport: a pseudo-terminal path, e.g. the console `hearth sim` prints.

Opened O_NOCTTY (the host tool must not become the pty's controlling process)
and in raw mode (no local echo, no line editing, no CR/LF translation on the
host side: the device's line discipline is the only one), non-blocking with
select() for the timeouts.
"""
import errno
import os
import select
import termios
import time
import tty

from .base import DEFAULT_TIMEOUT, DeviceUnreachable, Transport, TransportTimeout

_GONE = (errno.EIO, errno.EBADF, errno.ENXIO)    # the other end of the pty was closed


class PtyTransport(Transport):
    def __init__(self, path, timeout=DEFAULT_TIMEOUT):
        super().__init__(timeout)
        self.path = path
        self.description = "pty %s" % path
        self.fd = -1

    def _open(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except FileNotFoundError:
            raise DeviceUnreachable("%s: no such pty; is the device (`hearth sim`) still running? "
                                    "it prints its console path when it starts" % self.path) from None
        except OSError as e:
            raise DeviceUnreachable("%s: cannot open: %s" % (self.path, e.strerror or e)) from None
        try:
            if os.isatty(fd):
                tty.setraw(fd, termios.TCSANOW)    # TCSAFLUSH would drop what the device already sent
        except OSError as e:
            os.close(fd)
            raise DeviceUnreachable("%s: cannot set raw mode: %s" % (self.path, e.strerror or e)) from None
        self.fd = fd

    def _close(self):
        fd, self.fd = self.fd, -1
        try:
            os.close(fd)
        except OSError:
            pass

    def _gone(self):
        return DeviceUnreachable("%s: the device closed its console (did it stop or restart?); "
                                 "reconnect to the path it prints now" % self.path)

    def _read_some(self, timeout):
        try:
            if not select.select([self.fd], [], [], max(0.0, timeout))[0]:
                return b""
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return b""
        except OSError as e:
            if e.errno in _GONE:
                raise self._gone() from None
            raise
        if not data:
            raise self._gone()
        return data

    def _write(self, data):
        deadline = time.monotonic() + self.timeout
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                n = 0
            except OSError as e:
                if e.errno in _GONE:
                    raise self._gone() from None
                raise
            view = view[n:]
            if view:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TransportTimeout("%s: the device is not reading (%d bytes unsent); is its "
                                           "loop running?" % (self.path, len(view)))
                select.select([], [self.fd], [], left)
