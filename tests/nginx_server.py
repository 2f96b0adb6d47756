"""The Debian nginx serving a directory on a free loopback port, for tests.

    srv = NginxServer(root_dir)
    base = srv.start()           # "http://127.0.0.1:PORT/"
    srv.access_log()             # [{"method", "uri", "status", "body_bytes", "bytes", "range", "if_range"}]
    srv.stop()

The config is written at start into a private temp dir (pid, logs, temp
paths); nginx runs in the foreground with one process (no daemon, no master),
so stop() ends exactly the process start() began. The access log is written
unbuffered: every finished request is in it when the client has its answer
(nginx logs when the response is done, so give a request a moment; see
access_log(wait_for=N)).

Fixture: `nginx_server(root_dir, extra="")` (a factory; everything started is stopped).
"""
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 128; }}
http {{
    types {{ application/json json; application/octet-stream bin img zst xz; }}
    default_type application/octet-stream;
    log_format hearth '$request_method $uri $status $body_bytes_sent $bytes_sent "$http_range" "$http_if_range"';
    access_log {tmp}/access.log hearth;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    keepalive_timeout 5;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        {extra}
        location / {{ }}
    }}
}}
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NginxServer:
    def __init__(self, root_dir, extra=""):
        self.root = os.path.abspath(root_dir)
        self.dir = pathlib.Path(self.root)
        self.extra = extra                    # more server-block directives, e.g. "max_ranges 0;"
        self.tmp = None
        self.proc = None
        self.port = None

    def start(self):
        exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if exe is None:
            pytest.fail("nginx is not installed: run `make debs` (Debian package nginx)")
        self.tmp = tempfile.mkdtemp(prefix="hearth-nginx-")
        for attempt in range(5):                      # the free port can be taken between probe and bind
            self.port = _free_port()
            conf = os.path.join(self.tmp, "nginx.conf")
            with open(conf, "w") as f:
                f.write(CONF.format(tmp=self.tmp, port=self.port, root=self.root, extra=self.extra))
            self.proc = subprocess.Popen([exe, "-p", self.tmp, "-e", os.path.join(self.tmp, "error.log"),
                                          "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if self._wait_ready():
                return self.url
            self.stop(keep_tmp=True)
        raise RuntimeError("nginx did not start: %s" % self._error_tail())

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port

    def _wait_ready(self):
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def _error_tail(self):
        try:
            with open(os.path.join(self.tmp, "error.log")) as f:
                return f.read()[-800:]
        except OSError:
            return "(no error log)"

    def stop(self, keep_tmp=False):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            if self.proc.stderr:
                self.proc.stderr.close()
            self.proc = None
        if self.tmp and not keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def access_log(self, wait_for=0, timeout=5.0):
        """The requests served so far; wait_for: at least that many lines (nginx logs at the end)."""
        end = time.monotonic() + timeout
        while True:
            rows = self._read_log()
            if len(rows) >= wait_for or time.monotonic() >= end:
                return rows
            time.sleep(0.02)

    def _read_log(self):
        rows = []
        try:
            with open(os.path.join(self.tmp, "access.log")) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return rows
        for line in lines:
            line = line.replace("\\x22", "'")       # nginx escapes the quotes of an ETag
            head, _q, rest = line.partition(' "')
            method, uri, status, body, total = head.split(" ")
            rng, _s, if_range = rest.partition('" "')
            rows.append({"method": method, "uri": uri, "status": int(status), "body_bytes": int(body),
                         "bytes": int(total), "range": None if rng == "-" else rng,
                         "if_range": None if if_range.rstrip('"') == "-" else if_range.rstrip('"')})
        return rows


@pytest.fixture
def nginx_server():
    """Factory: nginx_server(root_dir) -> started NginxServer; all stopped at teardown."""
    started = []

    def start(root_dir, extra=""):
        srv = NginxServer(root_dir, extra)
        srv.start()
        started.append(srv)
        return srv
    yield start
    for srv in started:
        srv.stop()
