"""nginx on a loopback port serving a directory, config written at test time.

    srv = NginxServer(root_dir); url = srv.start()   # "http://127.0.0.1:PORT/"
    ...; srv.stop()

or the `nginx_server` fixture (a factory: nginx_server(root) -> URL).
Skips when nginx is not installed (Debian package nginx, host_tools/deps/debian.txt).
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

CONF = """daemon off;
master_process off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {work}/access.log;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    default_type application/octet-stream;
    sendfile off;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


def nginx_binary():
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NginxServer:
    def __init__(self, root_dir):
        self.root = os.path.abspath(root_dir)
        self.proc = None
        self.work = None
        self.url = None

    def start(self):
        exe = nginx_binary()
        if exe is None:
            pytest.skip("nginx is not installed (apt-get install nginx)")
        self.work = tempfile.mkdtemp(prefix="nginx-")
        for attempt in range(5):        # a free port can be taken between probe and bind
            port = _free_port()
            conf = os.path.join(self.work, "nginx.conf")
            with open(conf, "w") as f:
                f.write(CONF.format(work=self.work, port=port, root=self.root))
            self.proc = subprocess.Popen([exe, "-c", conf, "-p", self.work, "-e", os.path.join(self.work, "error.log")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if self._wait(port):
                self.url = "http://127.0.0.1:%d/" % port
                return self.url
            self.stop()
        raise RuntimeError("nginx did not start: %s" % self.error_log())

    def _wait(self, port, polls=200):
        for _ in range(polls):
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.025)
        return False

    def error_log(self):
        try:
            with open(os.path.join(self.work, "error.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def access_log(self):
        try:
            with open(os.path.join(self.work, "access.log")) as f:
                return f.read().splitlines()
        except OSError:
            return []

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None


@pytest.fixture
def nginx_server():
    servers = []

    def start(root):
        s = NginxServer(root)
        servers.append(s)
        return s.start()
    yield start
    for s in servers:
        s.stop()
