"""The telemetry service on a sim app: heartbeats, events, the budget, the
spool's life (kept until acknowledged, resent after a reboot), reboot
reasons, the privacy check and the raw-sample opt-in, the board section.

The uplink here is FakeUplink (connected or not, PUBACK on demand), so the
tests run on audio time; tests/test_telemetry_mqtt.py runs against mosquitto."""
import array

import cbor2
import numpy as np
import pytest

from hearth import board as board_mod
from hearth.core import causes as C
from hearth.telemetry import schema
from hearth.telemetry.budget import DailyBudget, wire_bytes
from hearth.telemetry.service import TelemetryService, start
from hearth.telemetry.spool import State
from hearth.wiring import build

EPOCH = 1_800_000_000.0 - (1_800_000_000.0 % 86400)     # midnight UTC: the day's budget starts fresh


class FakeUplink:
    def __init__(self, connected=True, auto_ack=False):
        self.connected = connected
        self.auto_ack = auto_ack
        self.sent = []          # (mid, topic, payload)
        self.acks = []
        self.nacks = []
        self.mid = 0
        self.connects = self.disconnects = 0
        self.last_error = ""
        self.started = False

    def start(self):
        self.started = True

    def stop(self):
        self.started = False

    def publish(self, topic, payload):
        if not self.connected:
            return None
        self.mid += 1
        self.sent.append((self.mid, topic, bytes(payload)))
        if self.auto_ack:
            self.acks.append(self.mid)
        return self.mid

    def ack_all(self):
        self.acks.extend(m for m, _, _ in self.sent)

    def take_acks(self):
        out, self.acks = self.acks, []
        return out

    def take_nacks(self):
        out, self.nacks = self.nacks, []
        return out


def sim_app(tmp_path):
    app = build(board_mod.load("sim", storage=str(tmp_path)), detector=None, boot=None)
    app.wall.set(EPOCH)
    return app


def telemetry(app, uplink, **cfg):
    base = {"heartbeat_s": 60.0, "event_flush_s": 10.0}
    base.update(cfg)
    svc = TelemetryService(app, base, version="1.2.3", uplink=uplink, device_id="dev-1")
    app.services.add(svc)
    return svc


def messages(uplink):
    return [schema.decode(p) for _, _, p in uplink.sent]


def test_heartbeat_contents(tmp_path):
    app = sim_app(tmp_path)
    up = FakeUplink(auto_ack=True)
    svc = telemetry(app, up)
    app.start()
    app.metrics.detection("okay_nabu", 0.93)
    app.metrics.detection("okay_nabu", 0.55)
    app.metrics.detection("alexa", 0.97)
    app.run(seconds=61)
    hbs = [m for m in messages(up) if m["k"] == "hb"]
    assert len(hbs) == 1
    m = hbs[0]
    assert (m["v"], m["dev"], m["boot"]) == (1, "dev-1", 1)
    assert up.sent[0][1] == "hearth/dev-1/tele"
    b = m["b"]
    assert 59.9 <= b["up"] <= 61.0 and 59.9 <= b["iv"] <= 61.0
    assert sum(b["mode_s"].values()) == pytest.approx(b["iv"], abs=0.2)
    assert b["det"] == {"okay_nabu": 2, "alexa": 1}
    assert sum(b["conf"]["okay_nabu"]) == 2 and b["conf"]["okay_nabu"][9] == 1     # 0.93: 0.9 < p <= 0.95
    assert set(b["lat"]) == {"capture", "detect", "alarm", "decide", "actuate"}
    assert sum(b["lat"]["capture"]) == pytest.approx(600, abs=2)        # one per 100 ms block
    assert b["ver"] == "1.2.3" and b["reboot"] == "first-boot" and b["ota"] is None
    assert b["soc_max"] == pytest.approx(45.0, abs=1.0)
    assert b["mem"] > 0
    # the next heartbeat covers only its own interval
    app.run(seconds=60)
    b2 = [m for m in messages(up) if m["k"] == "hb"][1]["b"]
    assert b2["det"] == {} and sum(b2["lat"]["capture"]) == pytest.approx(600, abs=2)


def test_events_batched_mode_change_alarm_fault_ota(tmp_path):
    from hearth.core.log import ERROR
    from hearth.ota import record
    app = sim_app(tmp_path)
    up = FakeUplink(auto_ack=True)
    telemetry(app, up, event_flush_s=30.0, heartbeat_s=3600.0)
    app.start()
    app.run(seconds=2)
    app.modes.report(C.PORT_FAULT, True, app.t, "gpio: EIO")
    app.appliance.detections([("smoke_alarm", app.t, 0.99)], app.t)
    app.log.emit(app.t, ERROR, "audio", "arecord died")
    record.record(app.storage, "installed", None, version="1.3.0", target="t.img")
    app.run(seconds=100)
    evs = [m for m in messages(up) if m["k"] == "ev"]
    assert len(evs) >= 1
    kinds = [e["k"] for m in evs for e in m["b"]["ev"]]
    assert "mode" in kinds and "alarm" in kinds and "fault" in kinds and "ota" in kinds
    mode = [e for m in evs for e in m["b"]["ev"] if e["k"] == "mode" and e["cause"] == C.PORT_FAULT][0]
    assert mode["to"] == "SAFE"
    ota = [e for m in evs for e in m["b"]["ev"] if e["k"] == "ota"][0]
    assert ota["event"] == "installed" and ota["version"] == "1.3.0"
    assert len(evs) <= 3           # batched: one message per flush, not one per event


def test_spool_kept_until_acked_and_resent_after_reboot(tmp_path):
    app = sim_app(tmp_path)
    up = FakeUplink(connected=False)
    svc = telemetry(app, up)
    app.start()
    app.run(seconds=185)                       # three heartbeats, offline
    assert len(svc.spool) >= 3 and up.sent == []
    up.connected = True
    app.run(seconds=1)
    assert len(up.sent) == len(svc.spool)      # published, not yet acknowledged: still spooled
    n = len(svc.spool)
    up.acks.append(up.sent[0][0])
    app.run(seconds=0.2)
    assert len(svc.spool) == n - 1
    left = [e[0] for e in svc.spool.entries]
    # power cut (no close): the next boot resends what was not acknowledged
    app2 = sim_app(tmp_path)
    up2 = FakeUplink(auto_ack=True)
    svc2 = telemetry(app2, up2)
    assert svc2.boot == 2 and svc2.reboot == "unexpected"
    app2.start()
    app2.run(seconds=1)
    resent = [(m["boot"], m["seq"]) for m in messages(up2)]
    assert resent == left and len(left) == n - 1
    app2.run(seconds=1)
    assert len(svc2.spool) == 0
    svc2.close()
    app3 = sim_app(tmp_path)
    assert telemetry(app3, FakeUplink()).reboot == "shutdown"


def test_refused_publish_is_sent_again(tmp_path):
    """A PUBACK with an error code (quota exceeded, not authorized): the message stays
    spooled and goes again, and the in-flight slot is free."""
    app = sim_app(tmp_path)
    up = FakeUplink()
    svc = telemetry(app, up)
    app.start()
    app.run(seconds=61)
    first = [m for m, _, p in up.sent if schema.decode(p)["k"] == "hb"][0]
    hb_key = [k for k in svc.inflight.values()]
    up.nacks.append(first)
    app.run(seconds=0.3)
    assert svc.refused == 1 and len(svc.spool) == len(hb_key)
    again = [p for m, _, p in up.sent if m != first and schema.decode(p)["k"] == "hb"]
    assert again and schema.decode(again[0])["seq"] == schema.decode(dict((m, p) for m, _, p in up.sent)[first])["seq"]
    up.ack_all()
    app.run(seconds=0.3)
    assert len(svc.spool) == 0 and svc.inflight == {}


def test_reboot_reason_firmware_update(tmp_path):
    app = sim_app(tmp_path)
    telemetry(app, FakeUplink()).close()
    svc = TelemetryService(sim_app(tmp_path), {}, version="2.0.0", uplink=FakeUplink(), device_id="d")
    assert svc.reboot == "firmware-update"


def test_budget_summaries_before_detail(tmp_path):
    st = State(None)
    day = EPOCH
    b = DailyBudget(st, limit=4096, heartbeat_s=3600.0)
    assert b.reserve(day) == 24 * 512                # before the first heartbeat: its estimate
    assert b.admit("hb", 160, day)
    # 24 heartbeats of 160 B are due today: an event batch may only use what is left over
    assert b.reserve(day) == 24 * 160
    assert not b.admit("ev", 400, day)
    assert b.admit("ev", 4096 - 160 - 24 * 160, day)         # exactly what is left over
    assert not b.admit("ev", 1, day)
    assert st.data["dropped"]["budget_ev"] == 2
    # late in the day little is reserved; the next day starts from zero
    assert b.reserve(day + 86000) == 160
    assert b.used(day + 86400) == 0
    assert wire_bytes("hearth/d/tele", 100) == 100 + len("hearth/d/tele") + 14


def test_budget_on_the_service(tmp_path):
    """A day with far more events than the budget holds: heartbeats all go, events are
    dropped and counted, and the bytes spooled stay within the budget."""
    app = sim_app(tmp_path)
    up = FakeUplink(auto_ack=True)
    svc = telemetry(app, up, heartbeat_s=3600.0, event_flush_s=1.0, daily_bytes=16384)
    app.start()
    for i in range(365):
        app.modes.report(C.PORT_FAULT, i % 2 == 0, app.t)
        app.run(seconds=20)
    hbs = [m for m in messages(up) if m["k"] == "hb"]
    evs = [m for m in messages(up) if m["k"] == "ev"]
    assert len(hbs) == 2 and evs
    assert svc.state.data["dropped"]["budget_ev"] > 0
    assert "budget_hb" not in svc.state.data["dropped"]
    total = sum(wire_bytes(t, len(p)) for _, t, p in up.sent)
    # the 22 heartbeats still due today keep their room, at the size of the last one
    # (less one: a heartbeat grows by a few bytes once it carries drop counters)
    assert total <= 16384 - 21 * svc.budget.hb_size
    assert hbs[-1]["b"]["drop"]["budget_ev"] > 0         # the counters are reported


def test_privacy_check_refuses_signals():
    for bad in (b"\x00\x01", bytearray(4), np.zeros(4, np.int16), array.array("h", [1, 2]),
                list(range(100)), "a" * 1000, {"x": [np.float32(1.0)] * 2}, {b"k": 1}):
        with pytest.raises(schema.PrivacyError):
            schema.encode("d", 1, 0, 0.0, "hb", {"x": bad})
    schema.encode("d", 1, 0, 0.0, "hb", {"hist": list(range(12)), "name": "okay_nabu", "p": 0.5})


def test_raw_samples_only_with_the_opt_in(tmp_path):
    app = sim_app(tmp_path)
    up = FakeUplink(auto_ack=True)
    svc = telemetry(app, up)
    app.start()
    pcm = np.arange(1600, dtype=np.int16).tobytes()
    assert not svc.sample("clip", pcm)
    app.run(seconds=1)
    assert up.sent == [] and svc.samples_refused == 1
    app2 = sim_app(tmp_path / "b")
    up2 = FakeUplink(auto_ack=True)
    svc2 = telemetry(app2, up2, allow_raw_samples=True, heartbeat_s=3600.0)
    app2.start()
    assert svc2.sample("clip", pcm)
    app2.run(seconds=1)
    assert [m["k"] for m in messages(up2)] == ["sample"] and messages(up2)[0]["b"]["data"] == pcm


def test_decode_refuses_malformed():
    ok = schema.encode("d", 1, 0, 0.0, "hb", {})
    assert schema.decode(ok)["dev"] == "d"
    for bad in (b"", b"\xff", cbor2.dumps([1]), cbor2.dumps({"v": 2}), ok[:-1],
                cbor2.dumps({"v": 1, "dev": "d", "boot": "1", "seq": 0, "t": 0, "k": "hb", "b": {}})):
        with pytest.raises(schema.SchemaError):
            schema.decode(bad)
    with pytest.raises(schema.SchemaError):
        schema.decode(ok, max_bytes=len(ok) - 1)


def test_board_section(tmp_path):
    b = board_mod.load("sim", storage=str(tmp_path))
    assert b.section("telemetry")["allow_raw_samples"] is False
    assert start(build(b, detector=None, boot=None), b) is None          # enabled = false
    data = dict(b.data)
    for bad, why in (({"broker": "tcp://x"}, "broker"), ({"heartbeat_s": 1}, "heartbeat_s"),
                     ({"allow_raw_samples": "yes"}, "allow_raw_samples"), ({"brokr": "mqtt://x"}, "unknown key")):
        data["telemetry"] = bad
        with pytest.raises(board_mod.BoardError, match=why):
            board_mod.validate(data, "x.toml")
