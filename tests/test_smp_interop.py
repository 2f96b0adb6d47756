"""The real MCUmgr clients against Hearth: smpmgr 0.19.1 (the CLI, as a
subprocess) and smpclient 7.3.0 (from Python) on the console pty of a sim
that the launcher runs from an image slot (`python -m hearth.boot boot`),
so `smpmgr upgrade --slot 1 IMAGE` ends with the launcher booting the new
image on trial and the image confirming itself.

Every process the test starts is stopped by it; the app runs on audio time
(--fast) so the health check's hold passes in moments."""
import asyncio
import hashlib
import json
import os
import re
import select
import subprocess
import sys
import time

import pytest

from hearth_tools.testing import testkit

from conftest import run_hearth  # noqa: E402
from test_integration_boot_app import HOLD_S, ROOT, Device, stop

SMPMGR = os.path.join(os.path.dirname(sys.executable), "smpmgr")
TIMEOUT = 600


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    d = tmp_path_factory.mktemp("smpinterop")
    k = type("Kit", (), {})()
    k.key = testkit.keygen(str(d / "key.pem"))
    text = open(os.path.join(ROOT, "boards", "sim.toml"), encoding="utf-8").read()
    text, n = re.subn(r"(?m)^health_check_s = .*$", "health_check_s = %.1f" % HOLD_S, text)
    assert n == 1
    k.board = str(d / "sim.toml")
    open(k.board, "w", encoding="utf-8").write(text)
    k.images = {}
    for version in ("1.1.0", "1.2.0"):
        path = str(d / ("v%s.img" % version))
        rc, out, err = run_hearth("image", "build", "--board", k.board, "--version", version, "--key", k.key,
                                  "-o", path)
        assert rc == 0, err
        k.images[version] = path
    k.dev = Device(str(d / "storage"), str(d))
    r = k.dev.cli("init", "--board", k.board, "--key", k.key, "--max-attempts", "2")
    assert r.returncode == 0, r.stderr
    r = k.dev.cli("install", k.images["1.1.0"])
    assert r.returncode == 0, r.stderr
    rc, lines, err = k.dev.boot("--fast", "--seconds", str(3 * HOLD_S), "--json", "--trial-deadline", "0")
    assert rc == 0 and k.dev.status()["version"] == "1.1.0" and not k.dev.status()["trial"], err
    return k


class Running:
    """The launcher-run app, its console path from its first stdout line."""

    def __init__(self, dev, *args):
        self.p = dev.start("--fast", "--json", "--quiet", "--trial-deadline", "0", *args)
        r, _, _ = select.select([self.p.stdout], [], [], TIMEOUT)
        assert r, "no console line from the app"
        self.first = json.loads(self.p.stdout.readline())
        self.port = self.first["console"]

    def smpmgr(self, *args, timeout=TIMEOUT):
        r = subprocess.run([SMPMGR, "--port", self.port, "--timeout", "10"] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr

    def wait(self, timeout=120):
        try:
            return self.p.wait(timeout=timeout)
        finally:
            stop(self.p)


@pytest.fixture
def app(kit):
    a = Running(kit.dev)
    yield a
    stop(a.p)


def test_smpmgr_echo_state_read_statistics_shell(app, kit):
    rc, out = app.smpmgr("os", "echo", "hello hearth")
    assert rc == 0 and "hello hearth" in out, out
    rc, out = app.smpmgr("image", "state-read")
    assert rc == 0 and "1.1.0" in out, out
    digest = hashlib.sha256(open(kit.images["1.1.0"], "rb").read()).hexdigest()
    assert digest not in out            # the hash shown is the image-hash TLV, not the file's SHA-256
    rc, out = app.smpmgr("statistics", "list")
    assert rc == 0 and "loop" in out and "latency" in out, out
    rc, out = app.smpmgr("statistics", "get", "loop")
    assert rc == 0 and "blocks" in out, out
    rc, out = app.smpmgr("shell", "status")
    assert rc == 0 and "mode" in out.lower(), out


def test_smpclient_from_python(app):
    from smpclient import SMPClient
    from smpclient.generics import success
    from smpclient.requests.os_management import EchoWrite, MCUMgrParametersRead
    from smpclient.requests.shell_management import Execute
    from smpclient.transport.serial import SMPSerialTransport

    async def talk():
        client = SMPClient(SMPSerialTransport(), app.port)
        await client.connect(10)
        try:
            r = await client.request(EchoWrite(d="from smpclient"), timeout_s=10)
            assert success(r) and r.r == "from smpclient"
            r = await client.request(MCUMgrParametersRead(), timeout_s=10)
            assert success(r) and r.buf_size == 2048
            r = await client.request(Execute(argv=["status"]), timeout_s=10)
            assert success(r) and r.ret == 0 and "mode" in r.o.lower()
        finally:
            await client.disconnect()
    asyncio.run(talk())


def test_smpclient_upload_over_the_pty_lands_pending(kit):
    """smpclient's own upload (Auto sizing from the device's buf_size) of a real image."""
    from smpclient import SMPClient
    from smpclient.transport.serial import SMPSerialTransport
    image = open(kit.images["1.2.0"], "rb").read()
    a = Running(kit.dev)
    try:
        async def upload():
            client = SMPClient(SMPSerialTransport(), a.port)
            await client.connect(10)
            try:
                t0 = time.monotonic()
                offs = [off async for off in client.upload(image, slot=1, first_timeout_s=60,
                                                             subsequent_timeout_s=30)]
                return offs, time.monotonic() - t0
            finally:
                await client.disconnect()
        offs, took = asyncio.run(upload())
    finally:
        stop(a.p)
    assert offs[-1] == len(image)
    print("smpclient upload: %d bytes in %d requests, %.1f s = %.1f kB/s"
          % (len(image), len(offs), took, len(image) / took / 1000.0))
    s = kit.dev.status()
    assert s["pending"] and s["slots"][s["pending"]]["version"] == "1.2.0"


def test_smpclient_over_udp(kit):
    from smpclient import SMPClient
    from smpclient.generics import success
    from smpclient.requests.os_management import EchoWrite
    from smpclient.requests.image_management import ImageStatesRead
    from smpclient.transport.udp import SMPUDPTransport
    a = Running(kit.dev, "--smp-udp", "0")
    try:
        port = a.first["smp_udp"]
        assert port

        class Loopback(SMPUDPTransport):
            async def connect(self, address, timeout_s, port=port):
                await SMPUDPTransport.connect(self, address, timeout_s, port)

        async def talk():
            client = SMPClient(Loopback(), "127.0.0.1")
            await client.connect(10)
            try:
                r = await client.request(EchoWrite(d="udp"), timeout_s=10)
                assert success(r) and r.r == "udp"
                r = await client.request(ImageStatesRead(), timeout_s=10)
                assert success(r) and any(i.active for i in r.images)
            finally:
                await client.disconnect()
        asyncio.run(talk())
    finally:
        stop(a.p)


def test_hearth_sim_console_speaks_smp(tmp_path):
    """`hearth sim` (no launcher, real time) answers smpmgr on its console pty."""
    p = subprocess.Popen([sys.executable, "-m", "hearth_tools.cli", "--json", "sim", "--quiet", "--storage",
                          str(tmp_path / "st")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        r, _, _ = select.select([p.stdout], [], [], TIMEOUT)
        assert r, "no console line from hearth sim"
        port = json.loads(p.stdout.readline())["console"]
        r = subprocess.run([SMPMGR, "--port", port, "--timeout", "10", "os", "echo", "sim here"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "sim here" in r.stdout, r.stdout + r.stderr
        r = subprocess.run([SMPMGR, "--port", port, "--timeout", "10", "shell", "door open"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "door opened" in r.stdout, r.stdout + r.stderr
        # without the launcher's storage the image group says so, in one line
        r = subprocess.run([SMPMGR, "--port", port, "--timeout", "10", "image", "state-read"],
                           capture_output=True, text=True, timeout=120)
        assert "NO_IMAGE" in r.stdout + r.stderr or r.returncode != 0, r.stdout + r.stderr
    finally:
        stop(p)


def test_smpmgr_upgrade_boots_the_image_on_trial_and_it_confirms_itself(kit):
    dev = kit.dev
    a = Running(dev)
    try:
        t0 = time.monotonic()
        rc, out = a.smpmgr("upgrade", "--slot", "1", kit.images["1.2.0"])
        took = time.monotonic() - t0
        assert rc == 0, out
        s = dev.status()
        assert s["pending"] and s["slots"][s["pending"]]["version"] == "1.2.0"
        # smpmgr's reset: the app answers, then exits; the supervisor (here: the test) boots again
        assert a.wait(60) == 0
    finally:
        stop(a.p)
    size = os.path.getsize(kit.images["1.2.0"])
    print("smpmgr upgrade: %d bytes in %.1f s = %.1f kB/s" % (size, took, size / took / 1000.0))
    rc, lines, err = dev.boot("--fast", "--seconds", str(3 * HOLD_S), "--json", "--trial-deadline", "0")
    assert rc == 0, err
    assert (lines[0]["version"], lines[-1]["health"]) == ("1.2.0", "confirmed"), err
    s = dev.status()
    assert (s["version"], s["trial"], s["slots"][s["active"]]["confirmed"]) == ("1.2.0", False, True)


class Supervisor:
    """What systemd does on a device: start the launcher again whenever the app
    exits. The console's pty changes with every boot, so a stable path (a
    symlink, as udev gives a UART) is repointed at each one."""

    def __init__(self, dev, link):
        import threading
        self.dev = dev
        self.link = link
        self.boots = []
        self.p = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.is_set():
            self.p = self.dev.start("--fast", "--json", "--quiet", "--trial-deadline", "0")
            r, _, _ = select.select([self.p.stdout], [], [], TIMEOUT)
            if not r:
                return
            first = json.loads(self.p.stdout.readline())
            self.boots.append((first["slot"], first["version"]))
            tmp = self.link + ".new"
            os.symlink(first["console"], tmp)
            os.replace(tmp, self.link)
            self.p.wait()

    def stop(self):
        self.done.set()
        if self.p is not None:
            stop(self.p)
        self.thread.join(60)


def test_hearth_flash_uploads_resets_and_sees_the_image_confirmed(kit, tmp_path):
    new = str(tmp_path / "v1.3.0.img")
    rc, out, err = run_hearth("image", "build", "--board", kit.board, "--version", "1.3.0", "--key", kit.key,
                              "-o", new)
    assert rc == 0, err
    link = str(tmp_path / "console")
    sup = Supervisor(kit.dev, link)
    try:
        for _ in range(600):
            if sup.boots:
                break
            time.sleep(0.1)
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "hearth_tools.cli", "--json", "flash", "--port", "pty:" + link,
                            "--timeout", "10", "--wait", "300", new], capture_output=True, text=True,
                           timeout=TIMEOUT)
        took = time.monotonic() - t0
        assert r.returncode == 0, r.stdout + r.stderr
        res = json.loads(r.stdout)
        assert (res["result"], res["version"]) == ("confirmed", "1.3.0")
        print("hearth flash: %d bytes uploaded in %.1f s = %.1f kB/s (%.1f s with reset and confirm); "
              "%.3f line bytes per image byte" % (res["size"], res["upload_s"], res["size"] / res["upload_s"]
                                                  / 1000.0, took, res["line_bytes_per_byte"]))
        assert sup.boots[-1][1] == "1.3.0"
        s = kit.dev.status()
        assert (s["version"], s["trial"]) == ("1.3.0", False)
        # the same image again: the device already runs it, confirmed
        r = subprocess.run([sys.executable, "-m", "hearth_tools.cli", "--json", "flash", "--port", "pty:" + link,
                            "--timeout", "10", new], capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 0 and json.loads(r.stdout)["result"] == "skipped", r.stdout + r.stderr
    finally:
        sup.stop()
