"""`hearth fleet ingest` into PostgreSQL: a real server (Debian postgresql:
initdb in a temporary directory as the postgres user, started and stopped
here), the same idempotence and bad-input checks as on SQLite, and the
command end to end through mosquitto."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

from hearth_tools.fleet.store import PgStore, StoreError, open_store
from mosquitto_server import MosquittoServer
from test_fleet_ingest import T0, _publisher, hb, idempotent_and_bad_input

import psycopg  # noqa: E402  (a dev dependency: a missing one fails, never skips)


def _pg_bin(name):
    for d in ["/usr/lib/postgresql/%s/bin" % v for v in ("17", "16", "15")] + ["/usr/local/bin", "/usr/bin"]:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    pytest.fail("PostgreSQL's %s is missing: run `make debs` (Debian package postgresql)" % name)


class PostgresServer:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pg-")
        self.data = os.path.join(self.dir, "data")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.as_user = []
        if os.geteuid() == 0:               # initdb refuses root: run the server as postgres
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *argv):
        r = subprocess.run(self.as_user + list(argv), capture_output=True, text=True, timeout=120)
        if r.returncode:
            raise RuntimeError("%s failed: %s" % (argv[0], r.stderr.strip() or r.stdout.strip()))

    def start(self):
        self._run(_pg_bin("initdb"), "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self._run(_pg_bin("pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-o",
                  "-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off" % (self.port, self.dir), "start")
        return "postgresql://postgres@127.0.0.1:%d/postgres" % self.port

    def stop(self):
        try:
            self._run(_pg_bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def pg():
    srv = PostgresServer()
    url = srv.start()
    yield url
    srv.stop()


def _fresh(url):
    with psycopg.connect(url, autocommit=True) as c:
        for t in ("messages", "heartbeats", "events", "devices"):
            c.execute("DROP TABLE IF EXISTS %s" % t)


def test_idempotent_and_bad_input_on_postgres(pg):
    _fresh(pg)
    st = open_store(pg)
    assert isinstance(st, PgStore)
    try:
        idempotent_and_bad_input(st)
    finally:
        st.close()


def test_unreachable_server_is_one_line(pg):
    with pytest.raises(StoreError, match="database postgresql://"):
        open_store("postgresql://postgres@127.0.0.1:1/none")


def test_cli_ingest_into_postgres(pg):
    _fresh(pg)
    broker = MosquittoServer()
    broker.start()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "hearth_tools.cli", "fleet", "ingest", "--broker",
                                 broker.url, "--db", pg, "--count", "51", "--seconds", "60"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in proc.stderr:
            if "ingest: subscribed" in line:
                break
        p = _publisher(broker.port, "dev-pg")
        for seq in range(50):
            p.publish("hearth/dev-pg/tele", hb("dev-pg", 3, seq, T0 + seq), qos=1)
        p.publish("hearth/dev-pg/tele", hb("dev-pg", 3, 7, T0 + 7), qos=1).wait_for_publish(10)
        try:
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        p.disconnect()
        p.loop_stop()
        assert proc.returncode == 0, err
        assert "stored 50, duplicates 1" in out
        st = open_store(pg)
        assert st.count("messages") == 50
        assert [(d["device"], d["heartbeats"]) for d in st.devices()] == [("dev-pg", 50)]
        st.close()
    finally:
        broker.stop()
