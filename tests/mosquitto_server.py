"""A mosquitto broker for tests: loopback only, a config written at start, stopped after.

    srv = MosquittoServer(); host, port = srv.start(); ...; srv.stop()

or the `broker` fixture (import it into the test module): a started server, stopped after the test.

Persistence is on (in the server's own temporary directory), so a restart()
keeps persistent sessions and queued QoS 1 messages, as a deployed broker does.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MosquittoServer:
    def __init__(self, port=None):
        self.port = port
        self.dir = None
        self.proc = None

    def start(self):
        exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
        if exe is None:
            raise RuntimeError("mosquitto is not installed: run `make debs` (Debian package mosquitto)")
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="mosquitto-")
        if self.port is None:
            self.port = _free_port()
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    "persistence_location %s/\nmax_queued_messages 100000\n"
                    "log_dest file %s/mosquitto.log\n" % (self.port, self.dir, self.dir))
        self.proc = subprocess.Popen([exe, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited: %s" % self.proc.stderr.read().decode(errors="replace"))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return "127.0.0.1", self.port
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("mosquitto did not listen on port %d within 10 s" % self.port)

    def stop(self, keep_dir=False):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stderr.close()
            self.proc = None
        if not keep_dir and self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def restart(self):
        self.stop(keep_dir=True)
        return self.start()

    @property
    def url(self):
        return "mqtt://127.0.0.1:%d" % self.port


@pytest.fixture
def broker():
    srv = MosquittoServer()
    srv.start()
    yield srv
    srv.stop()
