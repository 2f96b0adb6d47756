"""CPython ports: audio sources and their error messages, GPIO ABI, sensors,
storage, detector adapter."""
import io
import os
import shutil
import subprocess
import wave

import numpy as np
import pytest

from hearth.boot.storage import DirStorage
from hearth.core import causes as C
from hearth.ports import audio, detector, gpio, sensors

RATE = 16000


def _wav(path, pcm, rate=RATE, ch=1, width=2):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(ch)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(np.asarray(pcm).astype("<i%d" % width if width > 1 else "u1").tobytes())


def test_read_wav_roundtrip_and_stereo(tmp_path):
    x = (np.arange(3200) % 300 - 150).astype(np.int16)
    audio.write_wav(tmp_path / "m.wav", x)
    assert np.array_equal(audio.read_wav(tmp_path / "m.wav"), x)
    st = np.stack([x, -x], axis=1).reshape(-1)
    _wav(tmp_path / "s.wav", st, ch=2)
    assert not audio.read_wav(tmp_path / "s.wav").any()      # L and -L average to 0


@pytest.mark.parametrize("make,needle", [
    (lambda p: _wav(p, np.zeros(100), rate=44100), "44100 Hz; need 16000 Hz"),
    (lambda p: _wav(p, np.zeros(100, np.uint8), width=1), "8-bit"),
    (lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk"), "not a PCM WAV"),
    (lambda p: p.write_bytes(b"hello"), "not a PCM WAV"),
    (lambda p: p.write_bytes(b""), "not a PCM WAV"),
    (lambda p: None, "no such file"),
])
def test_bad_wavs_get_clear_errors(tmp_path, make, needle):
    p = tmp_path / "bad.wav"
    make(p)
    with pytest.raises(audio.AudioError) as e:
        audio.read_wav(p)
    assert needle in str(e.value)


def test_truncated_wav_is_read_up_to_the_cut(tmp_path):
    x = np.arange(1000, dtype=np.int16)
    audio.write_wav(tmp_path / "t.wav", x)
    data = (tmp_path / "t.wav").read_bytes()
    (tmp_path / "t.wav").write_bytes(data[:-101])         # half a sample cut off too
    y = audio.read_wav(tmp_path / "t.wav")
    assert np.array_equal(y, x[: len(y)]) and len(y) == 949


def test_array_and_stream_sources():
    x = np.arange(4000, dtype=np.int16)
    s = audio.ArraySource(x)
    assert np.array_equal(s.read(1600), x[:1600])
    s.read(1600)
    last = s.read(1600)
    assert np.array_equal(last[:800], x[3200:]) and not last[800:].any()
    assert s.read(1600) is None
    loop = audio.ArraySource(x[:1000], loop=True)
    assert np.array_equal(loop.read(2500), np.concatenate([x[:1000], x[:1000], x[:500]]))
    st = audio.StreamSource(io.BytesIO(x.tobytes() + b"\x01"))   # odd trailing byte
    assert np.array_equal(st.read(3000), x[:3000])
    tail = st.read(3000)
    assert np.array_equal(tail[:1000], x[3000:]) and st.read(10) is None


class Trickle:
    """A pipe that delivers a few bytes per read (and optionally has no readinto)."""

    def __init__(self, data, step, readinto=True):
        self.data, self.pos, self.step = data, 0, step
        if not readinto:
            self.readinto = None

    def read(self, k):
        out = self.data[self.pos:self.pos + min(k, self.step)]
        self.pos += len(out)
        return out

    def readinto(self, mv):
        out = self.read(len(mv))
        mv[: len(out)] = out
        return len(out)


@pytest.mark.parametrize("step,readinto", [(7, True), (1, True), (4096, True), (5, False)])
def test_stream_source_refills_one_capture_buffer(step, readinto):
    x = (np.arange(5000) * 13).astype(np.int16)
    st = audio.StreamSource(Trickle(x.tobytes(), step, readinto))
    if not readinto:
        st._readinto = None
    a = st.read(1600)
    assert np.array_equal(a, x[:1600])
    b = st.read(1600)
    assert b is a and np.array_equal(b, x[1600:3200])        # the same buffer, refilled
    c = st.read(1600)
    assert np.array_equal(c, x[3200:4800])
    d = st.read(1600)                                        # the partial last block: its own array
    assert d is not a and np.array_equal(d[:200], x[4800:]) and not d[200:].any()
    assert st.read(1600) is None


def test_mixer_saturates_and_replaces():
    base = audio.ArraySource(np.full(4000, 30000, np.int16))
    m = audio.Mixer(base)
    m.inject(np.full(100, 10000, np.int16))
    b = m.read(200)
    assert b[0] == 32767 and b[150] == 30000
    m.inject(np.full(50, 5, np.int16), replace=True)
    b = m.read(100)
    assert b[0] == 5 and b[60] == 30000
    assert not m.busy()


def test_open_source(tmp_path):
    assert isinstance(audio.open_source(None), audio.NoiseSource)
    with pytest.raises(audio.AudioError, match="no such file"):
        audio.open_source(str(tmp_path / "x.wav"))
    with pytest.raises(audio.AudioError, match="device"):
        audio.open_source("alsa")
    n = audio.NoiseSource().read(16000)
    assert 10 < np.sqrt(np.mean(n.astype(float) ** 2)) < 100      # a quiet room, not silence


def test_gpio_abi_matches_kernel_header(tmp_path):
    if not os.path.exists("/usr/include/linux/gpio.h") or not shutil.which("gcc"):
        pytest.skip("no <linux/gpio.h> or gcc")
    src = tmp_path / "g.c"
    src.write_text('#include <stdio.h>\n#include <linux/gpio.h>\nint main(void){printf("%lu %lu %lu %zu %d %d %d\\n",'
                   '(unsigned long)GPIO_GET_LINEHANDLE_IOCTL,(unsigned long)GPIOHANDLE_GET_LINE_VALUES_IOCTL,'
                   '(unsigned long)GPIOHANDLE_SET_LINE_VALUES_IOCTL,sizeof(struct gpiohandle_request),'
                   'GPIOHANDLE_REQUEST_INPUT,GPIOHANDLE_REQUEST_OUTPUT,GPIOHANDLE_REQUEST_ACTIVE_LOW);return 0;}\n')
    exe = tmp_path / "g"
    subprocess.run(["gcc", str(src), "-o", str(exe)], check=True)
    got = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert [int(v) for v in got] == [gpio.GPIO_GET_LINEHANDLE_IOCTL, gpio.GPIOHANDLE_GET_LINE_VALUES_IOCTL,
                                     gpio.GPIOHANDLE_SET_LINE_VALUES_IOCTL, gpio.REQ_SIZE,
                                     gpio.REQUEST_INPUT, gpio.REQUEST_OUTPUT, gpio.REQUEST_ACTIVE_LOW]
    req = gpio.pack_request([5, 6], gpio.REQUEST_INPUT, label=b"hearth")
    assert len(req) == gpio.REQ_SIZE


def test_gpio_missing_chip_is_a_clear_error(tmp_path):
    with pytest.raises(gpio.GpioError, match="gpiochip9"):
        gpio.LineGroup(str(tmp_path / "gpiochip9"), [1], output=True)


class FakeLines:
    """gpio.LineGroup without a kernel: records what is set, returns what is scripted."""

    def __init__(self, chip, offsets, output, active_low=False, defaults=()):
        self.offsets = list(offsets)
        self.values = list(defaults) or [0] * len(self.offsets)
        self.sets = []

    def get(self):
        return list(self.values)

    def set(self, values):
        self.sets.append([1 if v else 0 for v in values])


def test_gpio_ports_read_buttons_door_and_cavity_and_blink_the_ring(monkeypatch, tmp_path):
    monkeypatch.setattr(gpio, "LineGroup", FakeLines)
    from hearth.ports.sensors import SysfsTemperature, write_millidegrees
    cav = str(tmp_path / "cavity")
    write_millidegrees(cav, 181.5)
    lines = {"start": 1, "stop": 2, "door": 3, "heater": 10, "ring_r": 11, "ring_g": 12, "ring_b": 13}
    ins = gpio.GpioInputs("chip", lines, False, SysfsTemperature(cav), None)
    assert ins.poll(0.0) == ([], False, 181.5)
    ins.group.values = [1, 0, 1]                       # start pressed, door open
    assert ins.poll(0.1) == (["start"], True, 181.5)
    assert ins.poll(0.2) == ([], True, 181.5)          # held: one press, not two
    assert ins.food(0.5) is None                       # no food probe on this board
    write_millidegrees(cav, 250.0)
    assert ins.poll(0.3)[2] == 250.0
    outs = gpio.GpioOutputs("chip", lines)
    off = {"heater": False, "fan": False, "lamp": False, "buzzer": False}
    assert outs.write(dict(off, heater=True), "green", 3.0) is None          # steady: no refresh needed
    assert outs.group.sets[-1] == [1, 0, 1, 0]
    due = outs.write(off, "red-fast", 3.01)           # 0.25 s period: lit for 0.125 s
    assert outs.group.sets[-1] == [0, 1, 0, 0] and due == pytest.approx(3.125)
    assert outs.write(off, "red-fast", due) == pytest.approx(3.25)
    assert outs.group.sets[-1] == [0, 0, 0, 0]        # dark half


def test_sysfs_temperature(tmp_path):
    p = str(tmp_path / "thermal_zone0" / "temp")
    sensors.write_millidegrees(p, 47.5)
    t = sensors.SysfsTemperature(p)
    assert t.read() == 47.5
    for junk in ("", "abc", "1e400"):
        open(p, "w").write(junk)
        assert t.read() is None
    os.remove(p)
    assert t.read() is None and t.errors == 4


def test_storage_atomic_write(tmp_path):
    # the app writes through the launcher's storage interface (one for the device)
    s = DirStorage(str(tmp_path / "dev"))
    assert s.ensure_dir() == s.root and os.path.isdir(s.root)
    s.write_atomic("state/x.bin", b"one")
    s.write_atomic("state/x.bin", b"two")
    assert s.read("state/x.bin") == b"two"
    assert os.listdir(s.local_path("state")) == ["x.bin"]
    assert os.fspath(s) == str(s) == s.root


def test_detector_adapter_helpers(tmp_path):
    assert detector.normalize(("okay_nabu", 1.5, 0.9)) == ("okay_nabu", 1.5, 0.9)
    assert detector.normalize({"model": "alexa", "t": 2, "p": 0.5}) == ("alexa", 2.0, 0.5)
    assert detector.model_name("/x/y/hey_jarvis.json") == "hey_jarvis"
    assert detector.resolve("okay_nabu", "/m") == os.path.join("/m", "okay_nabu.json")
    man = tmp_path / "w.json"
    man.write_text('{"model": "w.tflite", "sha256": "%s"}' % ("0" * 64))
    assert detector.verify_model(str(man))[0] == C.MODEL_MISSING
    (tmp_path / "w.tflite").write_bytes(b"TFL3")
    assert detector.verify_model(str(man))[0] == C.MODEL_HASH
    man.write_text("{not json")
    assert detector.verify_model(str(man))[0] == C.MODEL_MISSING
    man.write_text('["a list"]')
    assert detector.verify_model(str(man))[0] == C.MODEL_MISSING
    port, problems = detector.open_detector(["w"], str(tmp_path), factory=lambda m: 1 / 0)
    assert port is None and problems[0][0] == C.MODEL_MISSING
    (tmp_path / "v.tflite").write_bytes(b"TFL3")
    port, problems = detector.open_detector([str(tmp_path / "v.tflite")], str(tmp_path), factory=lambda m: 1 / 0)
    assert port is None and problems == [(C.RUNTIME_FAILED, "ZeroDivisionError: division by zero")]


@pytest.mark.parametrize("pin", [12345, "abc", "z" * 64, ""])
def test_a_malformed_hash_pin_fails_verification_everywhere(tmp_path, pin):
    """The port's check and the detector's manifest are one check: a pin that
    is no sha256 never lets a model through unverified."""
    import json
    from hearth.model_manifest import ManifestError, load_manifest
    (tmp_path / "w.tflite").write_bytes(b"TFL3")
    man = tmp_path / "w.json"
    man.write_text(json.dumps({"model": "w.tflite", "sha256": pin,
                               "micro": {"probability_cutoff": 0.5, "sliding_window_size": 5}}))
    cause, detail = detector.verify_model(str(man))
    assert cause == C.MODEL_HASH and "sha256" in detail
    with pytest.raises(ManifestError, match="sha256 must be 64 hex digits"):
        load_manifest(str(man)).model_bytes()



# -- a port that raises is a fault, never a dead loop ----------------------------
class Flaky:
    """Wraps a port: `method` raises for calls number first..first+count-1."""

    def __init__(self, port, method, first, count=3):
        self.port, self.method, self.first, self.count = port, method, first, count
        self.calls = 0
        self.raised = 0

    def __getattr__(self, name):
        real = getattr(self.port, name)
        if name != self.method:
            return real

        def call(*a, **kw):
            self.calls += 1
            if self.first <= self.calls < self.first + self.count:
                self.raised += 1
                raise OSError(5, "Input/output error (injected)")
            return real(*a, **kw)
        return call


class StubDetector:
    names = ["okay_nabu"]

    def feed(self, block, t0):
        return ()

    def pause(self):
        pass

    def quality(self):
        return [0.0], 40.0


class StubWatchdog:
    due = float("-inf")

    def ready(self):
        pass

    def kick(self, now):
        pass


def _sim_app(tmp_path):
    from hearth import board as board_mod
    from hearth.wiring import build
    from hearth.core.log import ERROR
    b = board_mod.load("sim", storage=str(tmp_path))
    app = build(b, detector=StubDetector(), boot=None, watchdog=StubWatchdog())
    app.errors = []
    app.log.sinks.append(lambda t, level, module, msg: level >= ERROR and app.errors.append(msg))
    return app


PORTS = [("inputs", "poll"), ("inputs", "food"), ("outputs", "write"), ("soc", "read"),
         ("audio", "read"), ("watchdog", "kick"), ("detector", "feed"), ("detector", "quality")]


@pytest.mark.parametrize("port,method", PORTS, ids=["%s.%s" % p for p in PORTS])
def test_a_port_that_raises_turns_the_heater_off_and_the_loop_goes_on(tmp_path, port, method):
    from hearth.app import PORT_FAULT_CLEAR_S
    app = _sim_app(tmp_path)
    app.start()
    app.appliance.press("start", app.t)
    app.run(seconds=3)
    record = app.ports["outputs"]            # what the relays were last told
    assert record.state["heater"] and app.appliance.ctl.cooking
    # a detector that raised is dropped (CONSTRAINED: "runtime failed"): it fails once
    count = 1 if port == "detector" else 3
    flaky = Flaky(getattr(app, port), method, first=1, count=count)
    setattr(app, port, flaky)
    turns = app.turns
    app.run(seconds=5)
    assert flaky.raised == count
    assert app.turns == turns + 50, "the loop must keep turning"
    assert not record.state["heater"] and not app.appliance.ctl.cooking
    assert any(port in e for e in app.errors), app.errors
    assert C.PORT_FAULT in [c[0] for c in app.modes.active()] and app.modes.mode == "SAFE"
    ok, why = app.appliance.press("start", app.t)
    assert not ok and port in why                # refused while the fault holds
    app.run(seconds=PORT_FAULT_CLEAR_S + 1)      # the port works again: the fault clears
    assert C.PORT_FAULT not in [c[0] for c in app.modes.active()]
    ok, why = app.appliance.press("start", app.t)
    assert ok, why
    app.run(seconds=2)
    assert record.state["heater"]


def test_outputs_that_keep_failing_are_retried_every_block(tmp_path):
    app = _sim_app(tmp_path)
    app.start()
    app.appliance.press("start", app.t)
    app.run(seconds=2)
    flaky = Flaky(app.outputs, "write", first=1, count=10)
    app.outputs = flaky
    app.run(seconds=2)
    assert flaky.calls > 10                       # not once a second: every block until it works
    assert not app.ports["outputs"].state["heater"]


def test_shutdown_drives_the_outputs_safe(tmp_path):
    app = _sim_app(tmp_path)
    app.start()
    app.appliance.press("start", app.t)
    app.appliance.press("light", app.t)
    app.run(seconds=2)
    rec = app.ports["outputs"]
    assert rec.state["heater"] and rec.state["lamp"]
    app.shutdown("test")
    assert rec.state == {"heater": False, "fan": False, "lamp": False, "buzzer": False} and rec.ring == "off"
    app.run(seconds=1)                            # a stopped app writes nothing more
    assert not rec.state["heater"]


def test_sigterm_leaves_the_outputs_safe(tmp_path):
    """`python -m hearth` as the launcher runs it, heating, then SIGTERM: the
    sim board's output record (written by the outputs port itself) ends safe."""
    import json
    import select
    import signal
    import sys
    import time
    from hearth.ports.sim import read_output_record
    storage = tmp_path / "st"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["PYTHONUNBUFFERED"] = "1"
    p = subprocess.Popen([sys.executable, "-m", "hearth", "--board", "sim", "--storage", str(storage),
                          "--json", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    record = str(storage / "sim" / "outputs.json")
    try:
        assert select.select([p.stdout], [], [], 60)[0], "no console line"
        info = json.loads(p.stdout.readline())
        fd = os.open(info["console"], os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, b"press start\npress light\n")
            end = time.monotonic() + 30
            rec = {}
            while time.monotonic() < end:
                if select.select([fd], [], [], 0.1)[0]:
                    os.read(fd, 65536)          # keep the pty drained
                if os.path.exists(record):
                    rec = read_output_record(record)
                    if rec["heater"] and rec["lamp"]:
                        break
            assert rec.get("heater") and rec.get("lamp") and rec.get("fan"), rec
        finally:
            os.close(fd)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    rec = read_output_record(record)
    assert (rec["heater"], rec["fan"], rec["lamp"], rec["buzzer"], rec["ring"]) == (False, False, False, False, "off")
    assert json.loads(out.decode().splitlines()[-1])["stopped"] is True
