"""`hearth fleet ingest` and `hearth fleet devices`: idempotent storage of
device telemetry, bad input counted and skipped, shared subscriptions
splitting the load between workers (against mosquitto started here)."""
import json
import subprocess
import sys
import threading
import time

import cbor2
import paho.mqtt.client as mqtt
import pytest

from hearth.telemetry import schema
from hearth_tools.fleet.ingest import Ingestor
from hearth_tools.fleet.store import StoreError, open_store
from mosquitto_server import broker  # noqa: F401 (the fixture)

DEADLINE_S = 30.0
T0 = 1_800_000_000.0


def hb(dev, boot, seq, t, mode="FULL", ver="1.0.0"):
    return schema.encode(dev, boot, seq, t, "hb", {"up": 1.0, "iv": 1.0, "mode": mode, "ver": ver,
                                                   "reboot": "first-boot", "lat": {"detect": [0] * 12}})


def ev(dev, boot, seq, t, n=3):
    return schema.encode(dev, boot, seq, t, "ev", {"ev": [{"k": "mode", "t": t + i, "frm": "FULL", "to": "SAFE",
                                                           "cause": "soc hot"} for i in range(n)], "lost": 0})


class Worker:
    """An Ingestor with no broker: handle() called directly."""

    def __init__(self, store):
        self.ing = Ingestor(store, "mqtt://127.0.0.1:1", "unit")

    def feed(self, *payloads):
        cur = self.ing.store.conn.cursor()
        out = [self.ing.handle(cur, p, T0) for p in payloads]
        self.ing.store.conn.commit()
        return out


def test_idempotent_and_bad_input_counted(tmp_path):
    idempotent_and_bad_input(open_store(str(tmp_path / "fleet.db")))


def idempotent_and_bad_input(st):
    """The same checks on SQLite here and on PostgreSQL in test_fleet_postgres.py."""
    w = Worker(st)
    a = hb("dev-a", 1, 0, T0)
    assert w.feed(a, a, ev("dev-a", 1, 1, T0), ev("dev-a", 1, 1, T0)) == ["stored", "duplicate", "stored",
                                                                          "duplicate"]
    bad = [b"", b"\xff\xfe", cbor2.dumps({"v": 9}), cbor2.dumps([1, 2]), a[:-3],
           cbor2.dumps({"v": 1, "dev": "x", "boot": 2 ** 70, "seq": 0, "t": 0.0, "k": "hb", "b": {}})]
    assert w.feed(*bad) == ["malformed"] * len(bad)
    big = schema.encode("dev-a", 1, 2, T0, "hb", {"pad": "x" * 500, "more": ["y" * 500] * 60})
    w.ing.max_bytes = 4096
    assert w.feed(big) == ["oversized"]
    assert w.feed(hb("dev-a", 1, 3, T0 + 60, mode="SAFE", ver="1.1.0")) == ["stored"]
    assert w.ing.stats == {"received": 12, "stored": 3, "duplicates": 2, "malformed": 6, "oversized": 1}
    assert st.count("messages") == 3 and st.count("heartbeats") == 2 and st.count("events") == 3
    # an older heartbeat arriving late does not make the device look older
    assert w.feed(hb("dev-a", 1, 4, T0 - 999, mode="FULL", ver="0.9.0")) == ["stored"]
    d = st.devices()
    assert [(r["device"], r["version"], r["mode"], r["heartbeats"]) for r in d] == [("dev-a", "1.1.0", "SAFE", 3)]
    assert d[0]["last_heartbeat"] == T0 + 60


def test_a_message_the_database_refuses_is_skipped_alone(tmp_path):
    """A batch with one message the database cannot take: the others are stored."""
    import queue
    import sqlite3
    st = open_store(str(tmp_path / "fleet.db"))
    add = st.add

    def picky(cur, m, raw, received):
        if m["dev"] == "dev-bad":
            raise sqlite3.IntegrityError("refused for the test")
        return add(cur, m, raw, received)
    st.add = picky
    ing = Ingestor(st, "mqtt://127.0.0.1:1", "unit", log=lambda text: None)
    ing.client.ack = lambda mid, qos: None
    ing.inbox = queue.Queue()
    for i, dev in enumerate(["dev-a", "dev-bad", "dev-b"]):
        ing.inbox.put((i + 1, 1, hb(dev, 1, 0, T0)))
    assert ing.drain(0.1) == 3
    assert ing.stats == {"received": 3, "stored": 2, "duplicates": 0, "malformed": 1, "oversized": 0}
    assert [d["device"] for d in st.devices()] == ["dev-a", "dev-b"]


def test_bad_database_urls(tmp_path):
    with pytest.raises(StoreError, match="sqlite:///PATH"):
        open_store("mysql://x/y")
    with pytest.raises(StoreError, match="does not exist"):
        open_store(str(tmp_path / "no" / "such" / "dir" / "f.db"))


def _publisher(port, cid):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def _until(cond, what):
    end = time.monotonic() + DEADLINE_S
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("not within %.0f s: %s" % (DEADLINE_S, what))
        time.sleep(0.05)


def test_shared_subscription_splits_load_stores_each_once(tmp_path, broker):
    db = str(tmp_path / "fleet.db")
    workers, stops, threads = [], [], []
    for i in range(2):
        st = open_store(db)
        ing = Ingestor(st, broker.url, "ingest-%d" % i)
        ing.start()
        stop = threading.Event()
        th = threading.Thread(target=ing.run, kwargs={"stop": stop}, daemon=True)
        th.start()
        workers.append(ing)
        stops.append(stop)
        threads.append(th)
    for ing in workers:
        assert ing.subscribed.wait(10), "an ingest worker did not subscribe"
    pubs = [_publisher(broker.port, "dev-%d" % d) for d in range(4)]
    sent = 0
    infos = []
    for seq in range(100):
        for d, p in enumerate(pubs):
            infos.append(p.publish("hearth/dev-%d/tele" % d, hb("dev-%d" % d, 1, seq, T0 + seq), qos=1))
            sent += 1
    # a QoS 1 redelivery (the same message again), and junk on the same topic
    infos.append(pubs[0].publish("hearth/dev-0/tele", hb("dev-0", 1, 5, T0 + 5), qos=1))
    infos.append(pubs[1].publish("hearth/dev-1/tele", b"not cbor at all", qos=1))
    infos.append(pubs[2].publish("hearth/dev-2/tele", b"\x00" * 70000, qos=1))
    for i in infos:
        i.wait_for_publish(10)

    def total(k):
        return sum(w.stats[k] for w in workers)
    _until(lambda: total("received") >= sent + 3, "every message reached a worker")
    for s in stops:
        s.set()
    for th in threads:
        th.join(10)
    for w in workers:
        w.stop()
    for p in pubs:
        p.disconnect()
        p.loop_stop()
    assert total("stored") == sent and total("duplicates") == 1
    assert total("malformed") == 1 and total("oversized") == 1
    assert all(w.stats["received"] > 0 for w in workers), [w.stats for w in workers]   # the load was split
    st = open_store(db)
    assert st.count("messages") == sent == st.count("heartbeats")
    assert [(r["device"], r["heartbeats"]) for r in st.devices()] == [("dev-%d" % d, 100) for d in range(4)]


def _hearth(*argv):
    return subprocess.run([sys.executable, "-m", "hearth_tools.cli"] + list(argv), capture_output=True,
                          text=True, timeout=120)


def test_cli_ingest_and_devices(tmp_path, broker):
    db = str(tmp_path / "fleet.db")
    proc = subprocess.Popen([sys.executable, "-m", "hearth_tools.cli", "fleet", "ingest", "--broker", broker.url,
                             "--db", db, "--count", "3", "--seconds", "60", "--client-id", "cli-worker"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "ingest: subscribed" in _lines_until(proc.stderr, "ingest: subscribed")
        p = _publisher(broker.port, "dev-x")
        for seq in range(2):
            p.publish("hearth/dev-x/tele", hb("dev-x", 1, seq, T0 + seq, mode="CONSTRAINED", ver="2.0.0"),
                      qos=1).wait_for_publish(10)
        p.publish("hearth/dev-x/tele", b"junk", qos=1).wait_for_publish(10)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "stored 2" in out and "malformed 1" in out
    r = _hearth("--json", "fleet", "devices", "--db", db)
    assert r.returncode == 0, r.stderr
    devs = json.loads(r.stdout)["devices"]
    assert [(d["device"], d["version"], d["mode"]) for d in devs] == [("dev-x", "2.0.0", "CONSTRAINED")]
    r = _hearth("fleet", "devices", "--db", db)
    assert "dev-x" in r.stdout and "2.0.0" in r.stdout
    r = _hearth("fleet", "ingest", "--broker", "http://x", "--db", db, "--seconds", "1")
    assert r.returncode != 0 and "mqtt://HOST" in r.stderr


def _lines_until(stream, text):
    seen = ""
    for line in stream:
        seen += line
        if text in line or len(seen) > 10000:
            break
    return seen
