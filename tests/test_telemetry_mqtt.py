"""The telemetry service against a real broker (mosquitto, started here on a
loopback port): delivery with PUBACK, the spool across a broker restart, a
frozen network that never stalls the loop, and the privacy soak: every byte
the device sends during speech with the real models, captured on the wire,
holds no audio and no features.

Waiting for the network is bounded (DEADLINE_S of real time, then the test
fails saying what did not arrive); nothing asserts a duration."""
import socket
import threading
import time

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from hearth import board as board_mod
from hearth.ports.audio import ArraySource, Mixer
from hearth.telemetry import schema
from hearth.telemetry.service import TelemetryService
from hearth.telemetry.uplink import MqttUplink, UplinkError, parse_broker
from hearth.wiring import build
from hearth_tools.scenario import install_models
from conftest import speech_corpus
from mosquitto_server import broker  # noqa: F401 (the fixture)

DEADLINE_S = 30.0
EPOCH = 1_800_000_000.0 - (1_800_000_000.0 % 86400)


class Proxy:
    """A TCP forwarder on loopback that records every byte the device sends, and can freeze."""

    def __init__(self, port):
        self.target = ("127.0.0.1", port)
        self.sent = bytearray()             # device -> broker, all of it
        self.frozen = threading.Event()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closing:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.target)
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._pipe, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c, False), daemon=True).start()

    def _pipe(self, src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.frozen.is_set() and not self.closing:
                    time.sleep(0.01)
                if record:
                    with self.lock:
                        self.sent += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self):
        self.closing = True
        self.lsock.close()


class Subscriber:
    def __init__(self, port, topic="hearth/#"):
        self.payloads = []
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-sub", protocol=mqtt.MQTTv5)
        c.on_message = lambda cl, ud, msg: self.payloads.append(bytes(msg.payload))
        ready = threading.Event()
        c.on_subscribe = lambda *a: ready.set()
        c.on_connect = lambda cl, ud, fl, rc, pr: cl.subscribe(topic, qos=1)
        c.connect("127.0.0.1", port)
        c.loop_start()
        assert ready.wait(10), "the test subscriber could not subscribe"
        self.c = c

    def keys(self):
        return [(m["boot"], m["seq"]) for m in (schema.decode(p) for p in self.payloads)]

    def stop(self):
        self.c.disconnect()
        self.c.loop_stop()


def pump(app, done, what, step_s=1.0):
    """Run the loop (audio time) until done(), giving the network real time between turns."""
    end = time.monotonic() + DEADLINE_S
    while not done():
        if time.monotonic() > end:
            raise AssertionError("not within %.0f s of real time: %s" % (DEADLINE_S, what))
        app.run(seconds=step_s)
        time.sleep(0.01)


def sim_app(tmp_path):
    app = build(board_mod.load("sim", storage=str(tmp_path)), detector=None, boot=None)
    app.wall.set(EPOCH)
    return app


def service(app, port, **cfg):
    base = {"heartbeat_s": 10.0, "event_flush_s": 5.0, "broker": "mqtt://127.0.0.1:%d" % port}
    base.update(cfg)
    svc = TelemetryService(app, base, version="1.0.0", device_id="dev-7")
    app.services.add(svc)
    return svc


def test_delivered_and_forgotten_on_puback(tmp_path, broker):
    sub = Subscriber(broker.port)
    app = sim_app(tmp_path)
    svc = service(app, broker.port)
    app.start()
    try:
        pump(app, lambda: svc.uplink.connected, "the device connected")
        app.run(seconds=35)
        pump(app, lambda: svc.acked >= 3 and len(svc.spool) == 0, "three heartbeats acknowledged")
        pump(app, lambda: len(set(sub.keys())) >= svc.acked, "the subscriber got every acknowledged message")
        got = [schema.decode(p) for p in sub.payloads]
        assert [m["k"] for m in got].count("hb") >= 3
        assert all(m["dev"] == "dev-7" for m in got)
    finally:
        svc.close()
        sub.stop()


def test_broker_restart_spool_delivers_everything(tmp_path, broker):
    app = sim_app(tmp_path)
    svc = service(app, broker.port)
    app.start()
    sub = Subscriber(broker.port)
    try:
        pump(app, lambda: svc.uplink.connected and svc.acked >= 1, "first message acknowledged")
        broker.stop(keep_dir=True)
        pump(app, lambda: not svc.uplink.connected, "the device saw the broker go")
        app.run(seconds=60)                 # six heartbeats while the broker is down
        assert len(svc.spool) >= 6
        spooled = set(e[0] for e in svc.spool.entries)
        broker.start()
        sub.stop()
        sub = Subscriber(broker.port)
        pump(app, lambda: len(svc.spool) == 0, "the spool drained after the restart")
        pump(app, lambda: spooled <= set(sub.keys()), "every spooled message arrived")
        assert svc.uplink.connects >= 2
    finally:
        svc.close()
        sub.stop()


def test_frozen_network_never_stalls_the_loop(tmp_path, broker):
    proxy = Proxy(broker.port)
    app = sim_app(tmp_path)
    svc = service(app, proxy.port, heartbeat_s=10.0, event_flush_s=1.0)
    app.start()
    try:
        pump(app, lambda: svc.uplink.connected, "the device connected")
        proxy.frozen.set()                  # bytes go nowhere; the broker hears nothing
        turns = app.turns
        app.run(seconds=600)                # every turn polls telemetry; none may wait on the socket
        assert app.turns - turns == 6000
        assert len(svc.inflight) <= svc.cfg["max_inflight"] and len(svc.spool) >= 50     # ~one heartbeat per 10 s
        proxy.frozen.clear()
        pump(app, lambda: len(svc.spool) == 0, "the spool drained once the network thawed")
    finally:
        proxy.frozen.clear()
        svc.close()
        proxy.close()


def test_broker_url_and_tls_errors(tmp_path):
    assert parse_broker("mqtts://h") == ("h", 8883, True)
    assert parse_broker("mqtt://h:1") == ("h", 1, False)
    with pytest.raises(UplinkError, match="mqtt://HOST"):
        parse_broker("http://h")
    with pytest.raises(UplinkError, match="TLS files"):
        MqttUplink("mqtts://h", "c", ca=str(tmp_path / "missing-ca.pem"))


def _pcm_windows(pcm, n=16, want=400, seed=7):
    """Byte strings of loud 16-sample windows of the audio (silence would match anything)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in rng.permutation(len(pcm) - n):
        w = pcm[i:i + n]
        if np.abs(w.astype(np.int32)).mean() > 300:
            out.append(w.tobytes())
            if len(out) == want:
                break
    return out


def _numeric_lists(obj, out):
    if isinstance(obj, dict):
        for v in obj.values():
            _numeric_lists(v, out)
    elif isinstance(obj, list):
        if obj and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in obj):
            out.append(obj)
        for v in obj:
            _numeric_lists(v, out)


def test_soak_with_speech_sends_no_audio_or_features(tmp_path, broker):
    """75 s of espeak speech in noise through the real detector models; every byte the
    device puts on the wire is captured by a proxy; none of it is audio or features."""
    pcm = speech_corpus(seconds=75.0, seed=3)
    b = board_mod.load("sim", storage=str(tmp_path))
    models_dir, _ = install_models(b.storage_root)
    app = build(b, detector="auto", models_dir=models_dir, boot=None)
    app.audio = Mixer(ArraySource(pcm))
    app.wall.set(EPOCH)
    proxy = Proxy(broker.port)
    sub = Subscriber(broker.port)
    svc = service(app, proxy.port, heartbeat_s=15.0, event_flush_s=5.0)
    app.start()
    assert app.detector is not None, "the real models did not load"
    try:
        app.run(seconds=len(pcm) / 16000.0)
        app.audio = Mixer(ArraySource(np.zeros(16000, np.int16), loop=True))
        pump(app, lambda: len(svc.spool) == 0 and svc.acked >= 5, "the soak's messages acknowledged", 0.5)
        svc.close()
        time.sleep(0.2)
        wire = bytes(proxy.sent)
        assert len(wire) > 1000
        leaked = [w for w in _pcm_windows(pcm) if w in wire]
        assert not leaked, "%d windows of the audio are on the wire" % len(leaked)
        msgs = [schema.decode(p) for p in sub.payloads]
        assert {m["k"] for m in msgs} <= {"hb", "ev"}
        hbs = [m for m in msgs if m["k"] == "hb"]
        assert len(hbs) >= 5 and sum(sum(h["b"]["lat"]["detect"]) for h in hbs) > 600
        for m in msgs:
            schema.check(m["b"])                            # no bytes, arrays, long lists
            for p in sub.payloads:
                assert len(p) < 2048
            lists = []
            _numeric_lists(m["b"], lists)
            for lst in lists:                               # histograms only: 12 integer buckets
                assert len(lst) == 12 and all(isinstance(x, int) for x in lst), lst
        assert sum(len(p) for p in sub.payloads) <= len(wire)
    finally:
        svc.close()
        sub.stop()
        proxy.close()


def test_python_m_hearth_runs_the_board_telemetry(tmp_path, broker):
    """The image's entry adds the service when the board turns [telemetry] on, and stops it cleanly."""
    import subprocess
    import sys
    with open(board_mod.board_path("sim")) as f:
        text = f.read()
    head, _, _ = text.partition("\n[telemetry]")
    board = tmp_path / "sim-tele.toml"
    board.write_text(head + '\n[telemetry]\nenabled = true\nbroker = "%s"\ndevice_id = "entry-1"\n'
                     'heartbeat_s = 10.0\n' % broker.url)
    sub = Subscriber(broker.port)
    st = tmp_path / "storage"
    try:
        r = subprocess.run([sys.executable, "-m", "hearth", "--board", str(board), "--storage", str(st),
                            "--seconds", "35", "--fast", "--quiet"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        end = time.monotonic() + DEADLINE_S
        while len([p for p in sub.payloads if schema.decode(p)["k"] == "hb"]) < 3:
            assert time.monotonic() < end, "heartbeats of python -m hearth did not arrive"
            time.sleep(0.05)
        assert {schema.decode(p)["dev"] for p in sub.payloads} == {"entry-1"}
    finally:
        sub.stop()
    from hearth.boot.storage import DirStorage
    from hearth.telemetry.spool import State
    state = State(DirStorage(str(st)))
    assert state.load()["clean"] is True and state.data["boot"] == 1
