"""Ingest workers: MQTT shared subscription -> database, idempotent, never stopped by bad input.

Each worker subscribes to $share/GROUP/PREFIX/+/tele, so the broker hands
each message to one worker of the group: start more workers to split the
load. A worker's session is persistent (its client id, clean_start False),
so messages for it wait at the broker while it restarts.

Acknowledgement is manual: paho sends the PUBACK only after the message is
committed to the database (or counted as malformed/oversized), so a worker
killed between receiving and committing gets the message again, and the
(dev, boot, seq) key stores it once.
"""
import queue
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hearth.telemetry import schema
from hearth.telemetry.uplink import parse_broker

MAX_BYTES = 65536
BATCH = 500
BATCH_S = 0.2
SESSION_EXPIRY_S = 24 * 3600


class Ingestor:
    def __init__(self, store, broker, client_id, group="ingest", prefix="hearth", max_bytes=MAX_BYTES,
                 ca=None, log=None):
        self.store = store
        self.host, self.port, tls = parse_broker(broker)
        self.topic = "$share/%s/%s/+/tele" % (group, prefix)
        self.max_bytes = max_bytes
        self.log = log or (lambda text: None)
        self.stats = {"received": 0, "stored": 0, "duplicates": 0, "malformed": 0, "oversized": 0}
        self.inbox = queue.Queue()
        self.subscribed = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        c.manual_ack_set(True)
        if tls or ca:
            c.tls_set(ca_certs=ca)
        c.on_connect = self._on_connect
        c.on_subscribe = lambda *a: self.subscribed.set()
        c.on_message = lambda cl, ud, msg: self.inbox.put((msg.mid, msg.qos, bytes(msg.payload)))
        self.client = c

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self.log("broker refused the connection: %s" % reason_code)
            return
        client.subscribe(self.topic, qos=1)

    def start(self):
        p = Properties(PacketTypes.CONNECT)
        p.SessionExpiryInterval = SESSION_EXPIRY_S
        self.client.connect_async(self.host, self.port, keepalive=30, clean_start=False, properties=p)
        self.client.loop_start()

    def stop(self):
        self.drain(0.0)
        self.client.disconnect()
        self.client.loop_stop()

    def handle(self, cur, payload, received):
        """Store one payload (in the open transaction); its outcome's name."""
        self.stats["received"] += 1
        if len(payload) > self.max_bytes:
            self.stats["oversized"] += 1
            return "oversized"
        try:
            m = schema.decode(payload)
        except schema.SchemaError as e:
            self.stats["malformed"] += 1
            if self.stats["malformed"] <= 10:
                self.log("malformed message skipped: %s" % e)
            return "malformed"
        try:
            stored = self.store.add(cur, m, payload, received)
        except (TypeError, ValueError, OverflowError) as e:     # a field the database cannot hold
            self.stats["malformed"] += 1
            self.log("message skipped: %s" % e)
            return "malformed"
        self.stats["stored" if stored else "duplicates"] += 1
        return "stored" if stored else "duplicate"

    def drain(self, wait_s=BATCH_S):
        """Commit what arrived (up to BATCH messages), then acknowledge it; the count handled."""
        batch = []
        try:
            batch.append(self.inbox.get(timeout=wait_s) if wait_s > 0 else self.inbox.get_nowait())
            while len(batch) < BATCH:
                batch.append(self.inbox.get_nowait())
        except queue.Empty:
            pass
        if not batch:
            return 0
        now = time.time()
        conn = self.store.conn
        before = dict(self.stats)
        try:
            cur = conn.cursor()
            for mid, qos, payload in batch:
                self.handle(cur, payload, now)
            conn.commit()
        except self.store.errors as e:
            # one message the database refused spoils the transaction: redo the
            # batch a message at a time, so only that one is skipped
            conn.rollback()
            self.stats = before
            self.log("database refused a batch (%s); storing one at a time" % str(e).strip().splitlines()[0])
            for mid, qos, payload in batch:
                try:
                    self.handle(conn.cursor(), payload, now)
                    conn.commit()
                except self.store.errors as e1:
                    conn.rollback()
                    self.stats["malformed"] += 1
                    self.log("message skipped, the database refused it: %s" % str(e1).strip().splitlines()[0])
        for mid, qos, payload in batch:
            if qos > 0:
                self.client.ack(mid, qos)
        return len(batch)

    def run(self, seconds=None, count=None, stop=None):
        end = None if seconds is None else time.monotonic() + seconds
        while not (stop is not None and stop.is_set()):
            if end is not None and time.monotonic() >= end:
                break
            if count is not None and self.stats["received"] >= count:
                break
            self.drain()
        return self.stats
