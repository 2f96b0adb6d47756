"""Where ingested telemetry lives: SQLite (a file, the default) or PostgreSQL.

    sqlite:///path/fleet.db, or a plain path     SQLite (stdlib sqlite3, WAL)
    postgresql://user@host/db                    PostgreSQL (psycopg 3)

Tables:
    messages    one row per (dev, boot, seq): the raw CBOR and when it came.
                The primary key is what makes ingest idempotent: a QoS 1
                redelivery inserts nothing and is counted as a duplicate.
    heartbeats  the heartbeat's headline fields, its body as JSON
    events      one row per event of a batch (dev, boot, seq, idx)
    devices     the newest heartbeat per device: time, version, mode
"""
import json
import os
import sqlite3

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS messages (
        dev TEXT NOT NULL, boot BIGINT NOT NULL, seq BIGINT NOT NULL, t DOUBLE PRECISION NOT NULL,
        kind TEXT NOT NULL, size INTEGER NOT NULL, received DOUBLE PRECISION NOT NULL, raw BYTEA NOT NULL,
        PRIMARY KEY (dev, boot, seq))""",
    """CREATE TABLE IF NOT EXISTS heartbeats (
        dev TEXT NOT NULL, boot BIGINT NOT NULL, seq BIGINT NOT NULL, t DOUBLE PRECISION NOT NULL,
        up DOUBLE PRECISION, iv DOUBLE PRECISION, mode TEXT, ver TEXT, reboot TEXT, body TEXT NOT NULL,
        PRIMARY KEY (dev, boot, seq))""",
    """CREATE TABLE IF NOT EXISTS events (
        dev TEXT NOT NULL, boot BIGINT NOT NULL, seq BIGINT NOT NULL, idx INTEGER NOT NULL,
        t DOUBLE PRECISION, kind TEXT, body TEXT NOT NULL, PRIMARY KEY (dev, boot, seq, idx))""",
    """CREATE TABLE IF NOT EXISTS devices (
        dev TEXT PRIMARY KEY, last_t DOUBLE PRECISION NOT NULL, ver TEXT, mode TEXT, boot BIGINT,
        reboot TEXT, heartbeats BIGINT NOT NULL)""",
)


class StoreError(ValueError):
    """A database URL that cannot be opened; the message says how to fix it."""


def open_store(url):
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return PgStore(url)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
    elif "://" in url:
        raise StoreError("database %r: use a file path, sqlite:///PATH or postgresql://..." % url)
    else:
        path = url
    return SqliteStore(path)


def _json(obj):
    return json.dumps(obj, sort_keys=True, default=_bytes_note)


def _bytes_note(v):
    if isinstance(v, (bytes, bytearray)):
        return {"bytes": len(v)}
    return str(v)


class Store:
    PH = "?"

    def _sql(self, q):
        return q.replace("?", self.PH)

    def create(self):
        cur = self.conn.cursor()
        for q in SCHEMA:
            cur.execute(self._schema_sql(q))
        self.conn.commit()

    def _schema_sql(self, q):
        return q

    def add(self, cur, m, raw, received):
        """Store one decoded message; False if (dev, boot, seq) was already there."""
        key = (m["dev"], m["boot"], m["seq"])
        cur.execute(self._sql("INSERT INTO messages (dev, boot, seq, t, kind, size, received, raw) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                    key + (float(m["t"]), m["k"], len(raw), received, raw))
        if cur.rowcount == 0:
            return False
        b = m["b"]
        if m["k"] == "hb" and isinstance(b, dict):
            cur.execute(self._sql("INSERT INTO heartbeats (dev, boot, seq, t, up, iv, mode, ver, reboot, body) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                        key + (float(m["t"]), _num(b.get("up")), _num(b.get("iv")), _str(b.get("mode")),
                               _str(b.get("ver")), _str(b.get("reboot")), _json(b)))
            cur.execute(self._sql(
                "INSERT INTO devices (dev, last_t, ver, mode, boot, reboot, heartbeats) VALUES (?, ?, ?, ?, ?, ?, 1) "
                "ON CONFLICT (dev) DO UPDATE SET heartbeats = devices.heartbeats + 1, "
                "last_t = CASE WHEN excluded.last_t >= devices.last_t THEN excluded.last_t ELSE devices.last_t END, "
                "ver = CASE WHEN excluded.last_t >= devices.last_t THEN excluded.ver ELSE devices.ver END, "
                "mode = CASE WHEN excluded.last_t >= devices.last_t THEN excluded.mode ELSE devices.mode END, "
                "boot = CASE WHEN excluded.last_t >= devices.last_t THEN excluded.boot ELSE devices.boot END, "
                "reboot = CASE WHEN excluded.last_t >= devices.last_t THEN excluded.reboot ELSE devices.reboot END"),
                (m["dev"], float(m["t"]), _str(b.get("ver")), _str(b.get("mode")), m["boot"], _str(b.get("reboot"))))
        elif m["k"] == "ev" and isinstance(b, dict) and isinstance(b.get("ev"), list):
            rows = []
            for i, e in enumerate(b["ev"]):
                if isinstance(e, dict):
                    rows.append(key + (i, _num(e.get("t")), _str(e.get("k")), _json(e)))
            if rows:
                cur.executemany(self._sql("INSERT INTO events (dev, boot, seq, idx, t, kind, body) "
                                          "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"), rows)
        return True

    def devices(self):
        cur = self.conn.cursor()
        cur.execute("SELECT dev, last_t, ver, mode, boot, reboot, heartbeats FROM devices ORDER BY dev")
        cols = ("device", "last_heartbeat", "version", "mode", "boot", "reboot", "heartbeats")
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        self.conn.commit()          # a read leaves no transaction open (PostgreSQL would hold its locks)
        return rows

    def count(self, table):
        cur = self.conn.cursor()
        cur.execute("SELECT COUNT(*) FROM %s" % table)
        n = cur.fetchone()[0]
        self.conn.commit()
        return n

    def close(self):
        self.conn.close()


def _num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _str(v):
    if v is None:
        return None
    return (v if isinstance(v, str) else str(v)).replace("\x00", "")[:256]     # PostgreSQL text holds no NUL


class SqliteStore(Store):
    PH = "?"
    errors = (sqlite3.Error,)

    def __init__(self, path):
        d = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(d):
            raise StoreError("database %s: directory %s does not exist" % (path, d))
        try:
            self.conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")     # several ingest processes may share the file
            self.conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as e:
            raise StoreError("database %s: %s" % (path, e)) from None
        self.url = path
        self.create()

    def _schema_sql(self, q):
        return q.replace("BYTEA", "BLOB").replace("DOUBLE PRECISION", "REAL")


class PgStore(Store):
    PH = "%s"

    def __init__(self, url):
        try:
            import psycopg
        except ImportError:
            raise StoreError("database %s: PostgreSQL needs psycopg (pip install 'psycopg[binary]')" % url) from None
        self.errors = (psycopg.Error,)
        try:
            self.conn = psycopg.connect(url)
        except psycopg.Error as e:
            raise StoreError("database %s: %s" % (url, str(e).strip().splitlines()[0])) from None
        self.url = url
        self.create()
