"""The telemetry loop service: collect, spool within the budget, publish, forget on PUBACK.

    svc = TelemetryService(app, board.section("telemetry"), version=...)
    app.services.add(svc)          # poll(now, budget) every turn
    ...
    svc.close()                    # a clean stop (the next boot's reboot reason says so)

poll() never waits on the network: paho's thread connects and moves bytes
(hearth.telemetry.uplink); a poll publishes at most a few spooled messages
(queued in paho, not sent inline) and removes the acknowledged ones.
"""
import socket
import time

from ..core.log import INFO, WARN
from . import schema
from .budget import DailyBudget, wire_bytes
from .collect import Collector
from .spool import Spool, State

DEFAULTS = {
    "enabled": True,
    "heartbeat_s": 3600.0,
    "event_flush_s": 60.0,
    "daily_bytes": 65536,
    "spool_messages": 512,
    "spool_bytes": 262144,
    "topic_prefix": "hearth",
    "max_inflight": 10,
    "allow_raw_samples": False,
}
PUBLISH_PER_POLL = 4
OTA_POLL_S = 60.0
NAME = "telemetry"
BUDGET_S = 0.005
FLUSH_S = 2.0           # close(): how long a clean stop waits for the spool to drain


class TelemetryService:
    name = NAME
    budget_s = BUDGET_S

    def __init__(self, app, config, version=None, uplink=None, storage=None, device_id=None):
        cfg = dict(DEFAULTS)
        cfg.update(config or {})
        self.cfg = cfg
        self.app = app
        self.st = storage if storage is not None else app.storage
        self.dev = device_id or cfg.get("device_id") or _device_id(self.st)
        self.topic = "%s/%s/tele" % (cfg["topic_prefix"], self.dev)
        self.version = version
        self.state = State(self.st)
        prev = dict(self.state.load())
        self.boot = int(prev.get("boot", 0)) + 1
        self.reboot = _reboot_reason(prev, version, self.state.unreadable)
        self.state.data.update(boot=self.boot, clean=False, ver=version)
        self.state.save()           # before any message: a boot number is never reused
        self.spool = Spool(self.st, self.state, cfg["spool_messages"], cfg["spool_bytes"])
        self.spool.recover()
        self.budget = DailyBudget(self.state, cfg["daily_bytes"], cfg["heartbeat_s"])
        self.collector = Collector(app, version=version, reboot=self.reboot)
        self.seq = 0
        self.inflight = {}          # mid -> spool key
        self._sent = set()          # spool keys handed to paho this run
        self._early = set()         # mids acknowledged before publish() returned
        self.next_hb = cfg["heartbeat_s"]
        self.next_flush = cfg["event_flush_s"]
        self.next_ota = 0.0
        self.samples_refused = 0
        self.published = 0
        self.acked = 0
        self.refused = 0
        self.last_ack_wall = None
        if uplink is None and cfg.get("broker"):
            from .uplink import MqttUplink
            uplink = MqttUplink(cfg["broker"], "hearth-" + self.dev, ca=cfg.get("tls_ca"),
                                cert=cfg.get("tls_cert"), key=cfg.get("tls_key"))
        self.uplink = uplink
        if uplink is not None:
            uplink.start()
        app.log.emit(app.t, INFO, NAME, "device %s boot %d (%s), %d spooled, broker %s"
                     % (self.dev, self.boot, self.reboot, len(self.spool), cfg.get("broker") or "none"))

    # -- the loop ---------------------------------------------------------------
    def poll(self, now, budget):
        wall = self.app.wall.now()
        self.collector.poll(now, wall)
        if now >= self.next_ota:
            self.next_ota = now + OTA_POLL_S
            self.collector.poll_ota(wall)
        if now >= self.next_hb:
            self.next_hb = now + self.cfg["heartbeat_s"]
            self.heartbeat(now, wall)
        if now >= self.next_flush:
            self.next_flush = now + self.cfg["event_flush_s"]
            self.flush_events(wall)
        up = self.uplink
        if up is None:
            return
        for mid in up.take_acks():
            self._acked(mid, wall)
        for mid in up.take_nacks():
            self._refused(mid)
        if up.connected:
            self._publish_some()

    def heartbeat(self, now, wall):
        c = self.collector
        extra = {
            "drop": dict(self.state.data.get("dropped", {})),
            "spool": len(self.spool),
            "spool_bytes": self.spool.bytes,
            "budget_used": self.budget.used(wall),
            "ev_lost": c.lost_events,
            "samples_refused": self.samples_refused,
        }
        if self.uplink is not None:
            extra["link"] = {"connects": self.uplink.connects, "disconnects": self.uplink.disconnects}
        self._spool("hb", c.heartbeat(now, extra), wall)
        self.state.save()           # the budget use and counters, once an interval

    def flush_events(self, wall):
        ev, lost = self.collector.take_events()
        if ev or lost:
            self._spool("ev", {"ev": ev, "lost": lost}, wall)

    def sample(self, name, data):
        """Raw audio, features or model inputs: sent only with the board's opt-in."""
        if not self.cfg["allow_raw_samples"]:
            self.samples_refused += 1
            self.app.log.emit(self.app.t, WARN, NAME, "raw sample %s not sent: [telemetry] "
                              "allow_raw_samples is off (the board's opt-in)" % name)
            return False
        return self._spool("sample", {"name": str(name), "data": bytes(data)}, self.app.wall.now())

    def close(self, flush_s=FLUSH_S):
        """A clean stop: the next boot reports reboot reason 'shutdown'. The
        loop has ended, so this may wait: up to flush_s for the spool to be
        sent and acknowledged (what is left stays spooled for the next boot)."""
        up = self.uplink
        if up is not None:
            self.flush_events(self.app.wall.now())
            end = time.monotonic() + flush_s
            while True:
                for mid in up.take_acks():
                    self._acked(mid, self.app.wall.now())
                if not len(self.spool) or time.monotonic() >= end:
                    break
                if up.connected:
                    self._publish_some()
                time.sleep(0.02)
            up.stop()
        self.state.data["clean"] = True
        self.state.save()

    def status(self):
        up = self.uplink
        return {"device": self.dev, "boot": self.boot, "reboot": self.reboot, "spooled": len(self.spool),
                "spool_bytes": self.spool.bytes, "inflight": len(self.inflight),
                "budget_used": self.budget.used(self.app.wall.now()), "budget": self.budget.limit,
                "dropped": dict(self.state.data.get("dropped", {})), "published": self.published,
                "acked": self.acked, "refused": self.refused, "last_ack": self.last_ack_wall,
                "connected": bool(up and up.connected), "link_error": up.last_error if up else "no broker"}

    # -- inside -------------------------------------------------------------------
    def _spool(self, kind, body, wall):
        key = (self.boot, self.seq)
        data = schema.encode(self.dev, self.boot, self.seq, wall, kind, body)
        self.seq += 1
        if not self.budget.admit(kind, wire_bytes(self.topic, len(data)), wall):
            self.state.save()       # the drop is counted on storage
            return False
        return self.spool.append(key, data)

    def _publish_some(self):
        room = min(PUBLISH_PER_POLL, self.cfg["max_inflight"] - len(self.inflight))
        if room <= 0:
            return
        for e in self.spool.entries:
            if room <= 0:
                break
            if e[0] in self._sent:
                continue
            mid = self.uplink.publish(self.topic, self.spool.read(e))
            if mid is None:
                return
            self._sent.add(e[0])
            self.inflight[mid] = e[0]
            self.published += 1
            room -= 1
            if mid in self._early:
                self._early.discard(mid)
                self._acked(mid, self.app.wall.now())

    def _acked(self, mid, wall):
        key = self.inflight.pop(mid, None)
        if key is None:
            self._early.add(mid)
            return
        self._sent.discard(key)
        self.spool.ack(key)
        self.acked += 1
        self.last_ack_wall = wall


    def _refused(self, mid):
        # the broker refused it (quota, not authorized...): it stays spooled
        # and goes again in a later poll
        key = self.inflight.pop(mid, None)
        if key is not None:
            self._sent.discard(key)
            self.refused += 1


def _reboot_reason(prev, version, unreadable):
    if not prev:
        return "unknown" if unreadable else "first-boot"
    if prev.get("ver") != version:
        return "firmware-update"
    return "shutdown" if prev.get("clean") else "unexpected"


def _device_id(st):
    """The OTA client's device id when there is one, else the host name."""
    try:
        from ..ota.record import load_config
        cfg = load_config(st) or {}
        for k in ("device", "device_id", "id"):
            if isinstance(cfg.get(k), str) and cfg[k]:
                return cfg[k]
    except Exception:
        pass
    return socket.gethostname() or "device"


def start(app, board, version=None):
    """The board's telemetry service added to the app's loop, or None when the
    board has no [telemetry] section, it is disabled, or it names no broker."""
    from . import configured
    cfg = configured(board)
    if cfg is None:
        return None
    svc = TelemetryService(app, cfg, version=version)
    app.services.add(svc)
    return svc
