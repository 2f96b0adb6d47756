"""systemd watchdog via sd_notify: READY=1 at start, WATCHDOG=1 every loop
turn that is due (half the interval systemd asked for), STATUS=... text.
Without NOTIFY_SOCKET (sim, tests, no systemd) every call is a no-op."""
import os
import socket


class SdNotify:
    def __init__(self, env=None):
        env = os.environ if env is None else env
        addr = env.get("NOTIFY_SOCKET", "")
        self.sock = None
        self.addr = None
        if addr:
            if addr.startswith("@"):
                addr = "\0" + addr[1:]          # abstract namespace
            self.addr = addr
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        usec = env.get("WATCHDOG_USEC", "")
        try:
            self.interval = int(usec) / 1e6 / 2.0 if usec else 5.0
        except ValueError:
            self.interval = 5.0
        self.last = None
        self.kicks = 0
        # The loop kicks when now >= due (no call per block); without
        # systemd there is nothing to send, ever.
        self.due = float("-inf") if self.sock is not None else float("inf")

    @property
    def enabled(self):
        return self.sock is not None

    def _send(self, msg):
        if self.sock is None:
            return False
        try:
            self.sock.sendto(msg.encode(), self.addr)
        except OSError:
            return False
        return True

    def ready(self):
        return self._send("READY=1")

    def status(self, text):
        return self._send("STATUS=" + text.replace("\n", " "))

    def kick(self, now):
        """Called every loop turn; notifies at most every `interval` seconds."""
        if self.last is not None and now - self.last < self.interval:
            return False
        self.last = now
        self.due = now + self.interval
        self.kicks += 1
        return self._send("WATCHDOG=1")

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
