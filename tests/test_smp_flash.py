"""hearth_tools.smp: the host's SMP client and `flash`, against Hearth's own
server over an in-memory link with faults injected by count (answers lost,
the link dropped mid-upload, the device restarted mid-upload)."""
import pytest

from hearth.image import mcuboot
from hearth.smp.groups import image as image_group
from hearth.smp.groups import os as os_group
from hearth.smp.server import Server
from hearth.smp.service import ConsoleSmp
from hearth_tools.smp import FlashError, SmpClient, SmpDeviceError, flash
from hearth_tools.transport import DeviceUnreachable, Transport, TransportTimeout
from hearth_tools.testing import testkit

from smp_util import make_kit, provisioned


class Link(Transport):
    """A host transport whose far end is a ConsoleSmp hook, run in-process.
    `lose` answers to drop (by count); `cut_at` requests after which the link dies."""

    description = "in-memory SMP link"

    def __init__(self, device):
        Transport.__init__(self, timeout=0.05)
        self.device = device
        self.requests = 0
        self.lose = set()
        self.cut_at = None
        self.out = b""

    def _open(self):
        self.dead = False

    def _close(self):
        pass

    def _write(self, data):
        if self.dead:
            raise DeviceUnreachable("link is down")
        for line in data.split(b"\n"):
            if not line:
                continue
            r = self.device.hook(line)
            server = self.device.server
            while server.busy():
                server.poll(0.0, 0.05)
            r = (r or b"") + b"".join(self.device.later)
            self.device.later.clear()
            if r:
                self.requests += 1
                if self.requests in self.lose:
                    continue
                self.out += r
                if self.cut_at is not None and self.requests >= self.cut_at:
                    self.cut_at = None
                    self.dead = True

    def _read_some(self, timeout):
        if self.dead:
            raise DeviceUnreachable("link is down")
        d, self.out = self.out, b""
        return d


class Device:
    def __init__(self, root):
        self.root = root
        self.boot()

    def boot(self):
        """A (re)started app: a fresh server on the same storage."""
        self.server = Server()
        os_group.register(self.server, {})
        image_group.register(self.server, self.root)
        self.hook = ConsoleSmp(self.server)
        self.later = []
        self.hook.send = self.later.append
        self.server.on_reset = lambda: None


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return make_kit(tmp_path_factory.mktemp("smpflash"), 512 * 1024, 120000)


def _device(kit, tmp_path):
    return provisioned(kit, tmp_path / "storage"), Device(str(tmp_path / "storage"))


def test_flash_uploads_with_the_devices_buffer_and_stages_it(kit, tmp_path):
    L, dev = _device(kit, tmp_path)
    link = Link(dev).open()
    c = SmpClient(link, timeout=0.05, retries=0)
    r = flash(c, kit.v2, wait_s=0)
    assert r["result"] == "reset" and r["buf_size"] == 2048
    # about len/1950 requests of upload, not len/147 as smpmgr's
    assert link.requests < len(kit.v2) // 1900 + 8
    assert 4 / 3.0 < r["line_bytes_per_byte"] < 1.45
    s = L.status()
    assert s["slots"][s["pending"]]["digest"] == mcuboot.parse(kit.v2).digest.hex()
    # the same image again: it is pending already, no upload
    before = link.requests
    assert flash(c, kit.v2, wait_s=0)["result"] == "reset" and link.requests - before <= 4


def test_running_image_is_skipped(kit, tmp_path):
    L, dev = _device(kit, tmp_path)
    r = flash(SmpClient(Link(dev).open(), timeout=0.05), kit.v1, wait_s=0)
    assert r["result"] == "skipped"


@pytest.mark.parametrize("lost", [3, 10, 40])
def test_a_lost_answer_is_resent(kit, tmp_path, lost):
    L, dev = _device(kit, tmp_path)
    link = Link(dev).open()
    link.lose = {lost}
    r = flash(SmpClient(link, timeout=0.05, retries=2), kit.v2, wait_s=0, reset=False)
    assert r["result"] == "pending" and L.status()["pending"]


@pytest.mark.parametrize("restart", [False, True])
def test_upload_resumes_after_the_link_drops(kit, tmp_path, restart):
    """The link dies after 20 requests; reconnect reopens it (and with restart,
    the device app restarted meanwhile): the upload goes on from what the device holds."""
    L, dev = _device(kit, tmp_path)
    link = Link(dev).open()
    link.cut_at = 20
    sent = []

    def reconnect():
        link.close()
        if restart:
            dev.boot()
        link.open()
    r = flash(SmpClient(link, timeout=0.05, retries=0), kit.v2, reconnect=reconnect, wait_s=0, reset=False,
              progress=lambda off, n: sent.append(off))
    assert r["result"] == "pending"
    # it went on from the device's offset, not from 0
    drop = [i for i in range(1, len(sent)) if sent[i] < sent[i - 1]]
    assert not drop, sent
    s = L.status()
    assert s["slots"][s["pending"]]["version"] == "1.1.0"


def test_device_refusal_is_one_line(kit, tmp_path):
    L, dev = _device(kit, tmp_path)
    old = testkit.small_image(kit.key, kit.board_path, "0.5.0", 0)
    with pytest.raises(SmpDeviceError) as e:
        flash(SmpClient(Link(dev).open(), timeout=0.05), old, wait_s=0)
    assert "group 1 error 27" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(FlashError):
        flash(SmpClient(Link(dev).open(), timeout=0.05), b"not an image", wait_s=0)


def test_no_answer_is_a_timeout(kit, tmp_path):
    L, dev = _device(kit, tmp_path)
    link = Link(dev).open()
    link.lose = set(range(1, 100))
    with pytest.raises(TransportTimeout):
        SmpClient(link, timeout=0.05, retries=1).echo("x")
    assert link.requests == 2


@pytest.mark.parametrize("healthy", [True, False])
def test_flash_waits_for_the_confirm_or_reports_the_revert(kit, tmp_path, healthy):
    """After the reset the device boots the image on trial (the launcher's
    select); it then confirms itself, or fails its health check and reverts."""
    L, dev = _device(kit, tmp_path)
    link = Link(dev).open()
    boots = []

    def reconnect():
        link.close()
        if not boots:                       # the reset: one trial boot, then its outcome
            d = L.select()
            boots.append(d.slot)
            dev.boot()
        elif len(boots) == 1:
            boots.append("settled")
            if healthy:
                L.confirm()
            else:
                L.revert()
        link.open()
    t = [0.0]
    c = SmpClient(link, timeout=0.05, retries=0)
    kw = dict(reconnect=reconnect, wait_s=30, clock=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
    if healthy:
        assert flash(c, kit.v2, **kw)["result"] == "confirmed"
        assert L.status()["version"] == "1.1.0" and not L.status()["trial"]
    else:
        with pytest.raises(FlashError) as e:
            flash(c, kit.v2, **kw)
        assert "reverted to 1.0.0" in str(e.value)


def test_flash_gives_up_waiting_with_a_hint(kit, tmp_path):
    L, dev = _device(kit, tmp_path)
    link = Link(dev).open()
    t = [0.0]
    with pytest.raises(FlashError) as e:
        flash(SmpClient(link, timeout=0.05, retries=0), kit.v2, reconnect=lambda: None, wait_s=5,
              clock=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
    assert "did not confirm the image within 5 s" in str(e.value) and "--wait" in str(e.value)


def test_cli_errors_are_one_line_with_their_exit_codes(kit, tmp_path):
    from conftest import run_hearth
    img = tmp_path / "v2.img"
    img.write_bytes(kit.v2)
    rc, out, err = run_hearth("flash", "--port", "pty:" + str(tmp_path / "no-such-pty"), str(img))
    assert rc == 5 and err.count("\n") == 1 and "hearth: error:" in err, err
    rc, out, err = run_hearth("flash", "--port", "pty:/dev/null", str(tmp_path / "missing.img"))
    assert rc == 2 and "cannot read" in err, err
    rc, out, err = run_hearth("flash", "--port", "pty:/dev/null", "--retries", "-1", str(img))
    assert rc == 2, err
