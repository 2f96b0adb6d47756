"""SimTransport: start a sim board (`hearth sim`) and talk to its console pty.

A real process on a real pty, exactly what a person gets from `hearth sim`:
the board runs in its own interpreter (its realtime loop never shares a GIL
with the host tool), and `close()` stops it - SIGTERM (the sim's clean
stop), then SIGKILL if it has not exited within `stop_timeout`.
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .base import DEFAULT_TIMEOUT, DeviceUnreachable
from .pty import PtyTransport

START_TIMEOUT = 60.0        # the sim imports numpy and loads its models before it prints the pty
STOP_TIMEOUT = 10.0


class SimTransport(PtyTransport):
    def __init__(self, board="sim", storage=None, audio=None, timeout=DEFAULT_TIMEOUT,
                 start_timeout=START_TIMEOUT, stop_timeout=STOP_TIMEOUT, python=None):
        super().__init__(None, timeout)
        self.board = board
        self.storage = storage
        self.audio = audio
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.python = python or sys.executable
        self.description = "sim board %s" % board
        self.proc = None
        self.info = None                # the sim's start line: console, board, storage
        self._tmp = None
        self._stderr = None

    def command_line(self):
        cmd = [self.python, "-m", "hearth_tools.cli", "--json", "sim", "--quiet",
               "--board", self.board, "--storage", self.storage]
        if self.audio:
            cmd += ["--audio", self.audio]
        return cmd

    def _open(self):
        if self.storage is None:
            self._tmp = tempfile.mkdtemp(prefix="hearth-sim-")
            self.storage = self._tmp
        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(self.command_line(), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=self._stderr)
        except OSError as e:
            self._cleanup()
            raise DeviceUnreachable("cannot start the sim (%s): %s" % (self.python, e.strerror or e)) from None
        try:
            self.info = self._start_line()
            self.path = self.info["console"]
            self.description = "sim board %s (%s)" % (self.board, self.path)
            super()._open()
        except BaseException:
            self._stop()
            raise

    def _start_line(self):
        """The sim's first stdout line (JSON), or DeviceUnreachable with its error."""
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + self.start_timeout
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceUnreachable("the sim did not print its console within %.0f s; pass a longer "
                                        "start_timeout on a slow machine" % self.start_timeout)
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                buf += chunk
        line = buf.split(b"\n", 1)[0]
        try:
            info = json.loads(line)
            info["console"]
        except (ValueError, KeyError, TypeError):
            try:
                self.proc.wait(self.stop_timeout)   # its error line is written as it exits
            except subprocess.TimeoutExpired:
                pass
            raise DeviceUnreachable("the sim did not start: %s" % self._last_error(line)) from None
        return info

    def _last_error(self, stdout_line):
        self._stderr.seek(0)
        lines = [l for l in self._stderr.read().decode("utf-8", "replace").splitlines() if l.strip()]
        if lines:
            return lines[-1].strip()
        return ("exit status %s, stdout %r" % (self.proc.poll(), stdout_line[:80])
                if stdout_line else "exit status %s" % self.proc.poll())

    def _gone(self):
        rc = self.proc.poll() if self.proc is not None else None
        why = "it exited with status %s" % rc if rc is not None else "it closed its console"
        return DeviceUnreachable("the sim board (%s) went away: %s; start a new one" % (self.path, why))

    def _close(self):
        try:
            super()._close()
        finally:
            self._stop()

    def _stop(self):
        p = self.proc
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self._cleanup()

    def _cleanup(self):
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self.storage = self._tmp = None
