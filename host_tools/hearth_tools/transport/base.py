"""Transport: the one thing every link to a device does - move bytes.

A transport knows nothing of the shell or of SMP; it opens a link, writes
bytes and reads them back with a timeout. Operations (hearth_tools.device)
are written once on top of it, so a new link (BLE, USB CDC, ...) only has to
implement four small methods: `_open`, `_close`, `_write`, `_read_some`.

Every wait has a default that a caller can override per transport and per
call: a slow board, a low baud rate or a loaded CI machine needs longer, and
a timeout that cannot be changed is a bug report waiting to happen.
"""
import time

from ..errors import EXIT_DEVICE, HearthError

DEFAULT_TIMEOUT = 5.0       # seconds to wait for a reply (read, read_until, write)


class TransportError(HearthError):
    """The link to the device failed; the message says how to fix it."""

    exit_code = EXIT_DEVICE


class DeviceUnreachable(TransportError):
    """The link cannot be opened, or the device went away."""


class TransportTimeout(TransportError):
    """The device did not answer in time. `partial` holds what did arrive
    (it also stays buffered, so the next read still sees it)."""

    def __init__(self, message, partial=b""):
        super().__init__(message)
        self.partial = partial


def _shown(data, limit=40):
    """Bytes for a one-line message: repr, cut from the front (the tail is what matters)."""
    if len(data) > limit:
        return "..." + repr(bytes(data[-limit:]))
    return repr(bytes(data))


class Transport:
    """Base class. Subclasses set `description` (e.g. "serial /dev/ttyUSB0") and
    implement `_open()`, `_close()`, `_write(data)` and `_read_some(timeout)`,
    which returns the bytes that arrived within `timeout` seconds (b"" if none)
    and raises DeviceUnreachable when the device has gone."""

    description = "transport"

    def __init__(self, timeout=DEFAULT_TIMEOUT):
        self.timeout = timeout
        self.is_open = False
        self._pending = bytearray()     # read from the link, not yet handed out

    # -- life cycle ---------------------------------------------------------
    def open(self):
        if not self.is_open:
            self._pending = bytearray()
            self._open()
            self.is_open = True
        return self

    def close(self):
        if self.is_open:
            self.is_open = False
            self._close()

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.description)

    # -- bytes ----------------------------------------------------------------
    def write(self, data):
        self._need_open()
        self._write(bytes(data))

    def read(self, n, timeout=None):
        """Exactly `n` bytes, or TransportTimeout."""
        deadline = self._deadline(timeout)
        while len(self._pending) < n:
            self._fill(deadline, "%d bytes" % n)
        return self._take(n)

    def read_until(self, marker, timeout=None):
        """Bytes up to and including the first `marker`, or TransportTimeout."""
        deadline = self._deadline(timeout)
        start = 0
        while True:
            i = self._pending.find(marker, start)
            if i >= 0:
                return self._take(i + len(marker))
            start = max(0, len(self._pending) - len(marker) + 1)
            self._fill(deadline, repr(marker))

    def read_available(self, timeout=0.0):
        """Whatever is buffered plus what arrives within `timeout` (may be b"")."""
        self._need_open()
        self._pending += self._read_some(timeout)
        return self._take(len(self._pending))

    # -- helpers --------------------------------------------------------------
    def _need_open(self):
        if not self.is_open:
            raise TransportError("%s is not open (use `with transport:` or call open())" % self.description)

    def _deadline(self, timeout):
        self._need_open()
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def _fill(self, deadline, waiting_for):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TransportTimeout(
                "no reply from %s: waited for %s, got %s; check the device is running and the "
                "port/baud are right, or pass a longer timeout" % (
                    self.description, waiting_for, _shown(self._pending) if self._pending else "nothing"),
                bytes(self._pending))
        self._pending += self._read_some(left)

    def _take(self, n):
        out = bytes(self._pending[:n])
        del self._pending[:n]
        return out

    # -- what a subclass implements -----------------------------------------
    def _open(self):
        raise NotImplementedError

    def _close(self):
        raise NotImplementedError

    def _write(self, data):
        raise NotImplementedError

    def _read_some(self, timeout):
        raise NotImplementedError
