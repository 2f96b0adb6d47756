"""The SMP server (hearth.smp): framing against the `smp` package's encoder,
the header, dispatch and error bodies, every group on a real launcher."""
import hashlib
import os

import cbor2
import pytest
import smp.packet as peer_packet

from hearth.core.shell import Shell
from hearth.smp import errors as E
from hearth.smp import framing
from hearth.smp.groups import image as image_group
from hearth.smp.groups import os as os_group
from hearth.smp.groups import shell as shell_group
from hearth.smp.header import OP_READ, OP_WRITE, V1, Header
from hearth.smp.server import BUF_SIZE, Server
from hearth.smp.service import ConsoleSmp
from hearth_tools.testing import testkit

from smp_util import Wire, decode, lines, make_kit, packet, provisioned


def test_crc_check_value_and_worked_example():
    assert framing.crc16(b"123456789") == 0x31C3
    pkt = bytes.fromhex("0a0000060000" "0000") + bytes.fromhex("a1616462" "6869")
    assert framing.encode(pkt) == b"\x06\tABAKAAAGAAAAAKFhZGJoaeJ8\n"


@pytest.mark.parametrize("size", [0, 1, 90, 91, 92, 93, 500, 2000])
def test_framing_matches_the_smp_package_both_ways(size):
    pkt = packet(1, 1, {"data": bytes(range(256)) * (size // 256) + bytes(size % 256), "off": 0})
    ours = framing.encode(pkt)
    theirs = b"".join(peer_packet.encode(pkt))
    for l in ours.split(b"\n")[:-1]:
        assert len(l) + 1 <= framing.MAX_LINE
    # the peer's decoder takes our lines, ours takes theirs
    dec = peer_packet.decode()
    next(dec)
    got = None
    for l in ours.split(b"\n"):
        if not l:
            continue
        try:
            dec.send(l[2:] if False else l + b"\n")
        except StopIteration as s:
            got = s.value
    assert got == pkt
    r = framing.Reassembler(1 << 16)
    out = [r.feed(l) for l in theirs.split(b"\n") if l]
    assert out[-1] == pkt and all(o is None for o in out[:-1])


def _server():
    s = Server()
    os_group.register(s, os_group.default_info("testboard", "1.0.0"))
    sh = Shell()
    sh.add("status", lambda args: ({"ok": 1}, "all well " + " ".join(args)), "", "status")
    shell_group.register(s, sh)
    return s


def test_echo_params_info_v1_and_v2():
    s = _server()
    w = Wire(ConsoleSmp(s))
    h, body = w.request(packet(0, 0, {"d": "hi"}, seq=7))
    assert (h.op, h.group, h.command, h.seq, h.version, body) == (OP_WRITE + 1, 0, 0, 7, 1, {"r": "hi"})
    h, body = w.request(packet(0, 0, {"d": "v1"}, op=OP_READ, version=V1))
    assert (h.version, h.op, body) == (0, OP_READ + 1, {"r": "v1"})
    _h, body = w.request(packet(0, 6, {}, op=OP_READ))
    assert body == {"buf_size": BUF_SIZE, "buf_count": 1}
    _h, body = w.request(packet(0, 7, {"format": "sv"}, op=OP_READ))
    assert body == {"output": "Hearth 1.0.0"}
    _h, body = w.request(packet(0, 7, {"format": "q"}, op=OP_READ))
    assert body == {"err": {"group": 0, "rc": E.OS_INVALID_FORMAT}}
    _h, body = w.request(packet(0, 7, {"format": "q"}, op=OP_READ, version=V1))
    assert body["rc"] == E.EINVAL and "format" in body["rsn"]
    _h, body = w.request(packet(9, 0, {"argv": ["status", "now please"]}))
    assert body == {"o": "all well now please", "ret": 0}
    _h, body = w.request(packet(9, 0, {"argv": ["nope"]}))
    assert body["ret"] == 1 and "unknown command" in body["o"]


def test_reset_answers_first_then_resets():
    s = _server()
    fired = []
    s.on_reset = lambda: fired.append(1)
    t = [0.0]
    s.timer = lambda: t[0]
    w = Wire(ConsoleSmp(s))
    _h, body = w.request(packet(0, 5, {}))
    assert body == {} and not fired
    s.poll(0, 0.01)
    assert not fired
    t[0] = 1.0
    s.poll(0, 0.01)
    assert fired == [1]


def _bad_frames(good):
    text = framing.encode(good)[2:-1]
    crc_bad = bytearray(framing.encode(good))
    crc_bad[10] = ord("A") if crc_bad[10] != ord("A") else ord("B")
    return {
        "bad crc": ([bytes(crc_bad).rstrip(b"\n")], E.ECORRUPT),
        "bad base64": ([b"\x06\x09" + b"!!!!" + text[4:]], E.ECORRUPT),
        "not quads": ([b"\x06\x09" + text[:-1]], E.ECORRUPT),
        "oversized": ([b"\x06\x09" + __import__("base64").b64encode(b"\xff\xf0" + good[:1])], E.EMSGSIZE),
        "too long for its length": ([b"\x06\x09" + __import__("base64").b64encode(
            bytes([0, len(good) + 2]) + good + b"\0\0\0")], E.EINVAL),
    }


@pytest.mark.parametrize("case", ["bad crc", "bad base64", "not quads", "oversized", "too long for its length"])
def test_malformed_frames_get_the_smp_error(case):
    s = _server()
    hook = ConsoleSmp(s)
    ls, rc = _bad_frames(packet(0, 0, {"d": "x"}, seq=3))[case]
    out = Wire(hook).feed_lines(ls)
    from smp_util import unframe
    _h, body = unframe(out)
    assert body["rc"] == rc
    # the hook carries on: the next good request is served
    _h, body = Wire(hook).request(packet(0, 0, {"d": "ok"}))
    assert body == {"r": "ok"}


@pytest.mark.parametrize("pkt,rc", [
    (packet(77, 0, {}), E.ENOTSUP),                                     # unknown group
    (packet(0, 99, {}), E.ENOTSUP),                                     # unknown command
    (packet(0, 6, {}, op=OP_WRITE), E.ENOTSUP),                        # params has no write
    (Header(OP_WRITE, 0, 0, 1, 2).pack() + cbor2.dumps([1]), E.EINVAL),   # CBOR that is not a map
    (Header(OP_WRITE, 0, 0, 1, 2).pack() + b"\xa1\x61", E.EINVAL),      # truncated CBOR
    (Header(OP_WRITE, 0, 0, 1, 9).pack() + cbor2.dumps({}), E.EINVAL),  # wrong data length
    (Header(OP_WRITE, 0, 0, 1, 1, version=2).pack() + cbor2.dumps({}), E.UNSUPPORTED_TOO_NEW),
    (packet(0, 0, {"d": 5}), E.EINVAL),                                 # wrong field type
    (packet(9, 0, {"argv": []}), E.EINVAL),
])
def test_bad_requests_get_smp_level_errors(pkt, rc):
    _h, body = Wire(ConsoleSmp(_server())).request(pkt)
    assert body == {"rc": rc}


def test_a_console_request_during_a_deferred_udp_one_leaves_its_answer_alone(kit, tmp_path):
    L, s, g = _device(kit, tmp_path)
    hook = ConsoleSmp(s)
    console = Wire(hook)
    udp = []
    import hashlib as _h
    data = kit.v2
    off = 0
    while off < len(data):
        req = {"off": off, "data": data[off:off + 1500]}
        if off == 0:
            req.update({"len": len(data), "sha": _h.sha256(data).digest()})
        s.handle(packet(1, 1, req), udp.append)
        if s.busy():
            break
        off = decode(udp.pop())[1]["off"]
    assert s.busy()
    _h2, body = console.request(packet(1, 0, {}, op=OP_READ))
    assert body == {"rc": E.EBUSY}
    while s.busy():
        s.poll(0.0, 0.01)
    assert decode(udp[-1])[1] == {"off": len(data), "match": True} and not console.later


def test_continuation_without_start_and_garbage_line():
    s = _server()
    out = Wire(ConsoleSmp(s)).feed_lines([b"\x04\x14AAAA"])
    from smp_util import unframe
    assert unframe(out)[1]["rc"] == E.EINVAL


# -- image group on a real launcher -------------------------------------------------

@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return make_kit(tmp_path_factory.mktemp("smpimg"), 256 * 1024, 40000)


def _device(kit, tmp_path):
    L = provisioned(kit, tmp_path / "storage")
    s = Server()
    g = image_group.register(s, str(tmp_path / "storage"))
    return L, s, g


def _upload(w, s, data, chunk=1500, sha=True, start=0, stop=None):
    off = start
    digest = hashlib.sha256(data).digest() if sha is True else sha
    body = None
    while off < len(data) and (stop is None or off < stop):
        req = {"off": off, "data": data[off:off + chunk]}
        if off == 0:
            req.update({"len": len(data), "image": 1})
            if sha:
                req["sha"] = digest
        _h, body = w.request(packet(1, 1, req), s)
        if "off" not in body:
            return body
        off = body["off"]
    return body


def _img_hash(data):
    from hearth.image import mcuboot
    return mcuboot.parse(data).digest


def test_state_read_upload_test_confirm(kit, tmp_path):
    L, s, g = _device(kit, tmp_path)
    w = Wire(ConsoleSmp(s))
    _h, body = w.request(packet(1, 0, {}, op=OP_READ))
    assert [(i["slot"], i["version"], i["active"], i["confirmed"]) for i in body["images"]] == [(0, "1.0.0", True, True)]
    assert body["images"][0]["hash"] == _img_hash(kit.v1)
    body = _upload(w, s, kit.v2)
    assert body == {"off": len(kit.v2), "match": True}
    _h, body = w.request(packet(1, 0, {}, op=OP_READ))
    new = [i for i in body["images"] if i["slot"] == 1][0]
    assert (new["version"], new["pending"], new["hash"]) == ("1.1.0", True, _img_hash(kit.v2))
    # test by hash (already pending), unknown hash, testing the running image
    _h, body = w.request(packet(1, 0, {"hash": _img_hash(kit.v2), "confirm": False}))
    assert "images" in body
    _h, body = w.request(packet(1, 0, {"hash": b"\1" * 32, "confirm": False}))
    assert body == {"err": {"group": 1, "rc": E.IMG_HASH_NOT_FOUND}}
    _h, body = w.request(packet(1, 0, {"hash": _img_hash(kit.v1), "confirm": False}))
    assert body == {"err": {"group": 1, "rc": E.IMG_SETTING_TEST_TO_ACTIVE_DENIED}}
    # the reboot: the launcher boots it on trial; confirm over SMP
    d = L.select()
    assert d.trial and d.verified.version == "1.1.0"
    # only the process the launcher started as that trial may confirm it
    _h, body = w.request(packet(1, 0, {"confirm": True}))
    assert body == {"err": {"group": 1, "rc": E.IMG_IMAGE_CONFIRMATION_DENIED}} and L.status()["trial"]
    # while it runs on trial, no other upload starts
    _h, body = w.request(packet(1, 1, {"off": 0, "data": kit.v1[:100], "len": len(kit.v1)}))
    assert body == {"err": {"group": 1, "rc": E.IMG_NO_FREE_SLOT}}
    g.launched_slot = d.slot
    _h, body = w.request(packet(1, 0, {"confirm": True}))
    run = [i for i in body["images"] if i["active"]][0]
    assert (run["version"], run["confirmed"]) == ("1.1.0", True)
    assert L.status()["active"] == d.slot and not L.status()["trial"]


def test_upload_refusals_and_sha_mismatch(kit, tmp_path):
    L, s, g = _device(kit, tmp_path)
    w = Wire(ConsoleSmp(s))
    body = _upload(w, s, kit.v0)                       # older than the confirmed 1.0.0
    assert body == {"err": {"group": 1, "rc": E.IMG_CURRENT_VERSION_IS_NEWER}}
    bad = bytearray(kit.v2)
    bad[len(bad) // 2] ^= 1                            # signature no longer matches
    body = _upload(w, s, bytes(bad))
    assert body["err"]["group"] == 1 and L.status()["pending"] is None
    # the sha the client sends is not the file's
    body = _upload(w, s, kit.v2, sha=b"\0" * 32)
    assert body == {"err": {"group": 1, "rc": E.IMG_INVALID_HASH}}
    # a whole image in one frame is larger than the buffer
    _h, body = w.request(packet(1, 1, {"off": 0, "data": kit.v2, "len": len(kit.v2)}), s)
    assert body == {"rc": E.EMSGSIZE}
    _h, body = w.request(packet(1, 1, {"off": 0, "data": b"x", "len": 10 << 20}))
    assert body == {"err": {"group": 1, "rc": E.IMG_INVALID_IMAGE_TOO_LARGE}}
    _h, body = w.request(packet(1, 1, {"off": 0, "data": b"x"}))
    assert body == {"rc": E.EINVAL}


def test_upload_resumes_in_run_and_after_a_restart(kit, tmp_path):
    L, s, g = _device(kit, tmp_path)
    w = Wire(ConsoleSmp(s))
    body = _upload(w, s, kit.v2, stop=9000)
    part = body["off"]
    assert 9000 <= part < len(kit.v2)
    # a client starting over at 0 with the same sha is told where to go on
    _h, body = w.request(packet(1, 1, {"off": 0, "data": kit.v2[:100], "len": len(kit.v2),
                                       "sha": hashlib.sha256(kit.v2).digest()}), s)
    assert body == {"off": part}
    # a wrong offset is answered with the expected one
    _h, body = w.request(packet(1, 1, {"off": part + 5, "data": b"zz"}), s)
    assert body == {"off": part}
    # the device restarts: a new server on the same storage resumes from the partial file
    s2 = Server()
    image_group.register(s2, str(tmp_path / "storage"))
    w2 = Wire(ConsoleSmp(s2))
    _h, body = w2.request(packet(1, 1, {"off": 0, "data": kit.v2[:100], "len": len(kit.v2),
                                        "sha": hashlib.sha256(kit.v2).digest()}), s2)
    assert body == {"off": part}
    body = _upload(w2, s2, kit.v2, start=part)
    assert body == {"off": len(kit.v2), "match": True}
    assert L.status()["pending"] is not None


def test_erase_and_slot_info(kit, tmp_path):
    L, s, g = _device(kit, tmp_path)
    w = Wire(ConsoleSmp(s))
    _h, body = w.request(packet(1, 6, {}, op=OP_READ))
    assert body["images"][0]["max_image_size"] == 256 * 1024
    _upload(w, s, kit.v2, stop=3000)
    _h, body = w.request(packet(1, 5, {}))
    assert body == {} and not os.path.exists(g.path)
    _h, body = w.request(packet(1, 1, {"off": 3000, "data": b"x"}))
    assert body == {"off": 0}                           # the session is gone: start again
    _upload(w, s, kit.v2)
    _h, body = w.request(packet(1, 5, {"slot": 1}))
    assert body == {"rc": E.EBADSTATE}
    _h, body = w.request(packet(1, 5, {"slot": 0}))
    assert body == {"err": {"group": 1, "rc": E.IMG_INVALID_SLOT}}


# -- long work never blocks a turn ----------------------------------------------------

class _BlockedLauncher:
    """A launcher whose install waits for the test: the loop must go on meanwhile."""

    def __init__(self, real):
        import threading
        self.real = real
        self.go = threading.Event()
        self.device = real.device
        self.st = real.st

    def status(self):
        return self.real.status()

    def install(self, f):
        assert self.go.wait(60)
        return self.real.install(f)


def test_install_runs_beside_the_loop_and_answers_later(kit, tmp_path):
    L, _s, _g = _device(kit, tmp_path)
    s = Server()
    blocked = _BlockedLauncher(L)
    image_group.register(s, str(tmp_path / "storage"), launcher=blocked)
    w = Wire(ConsoleSmp(s))
    data = kit.v2
    off = 0
    while True:
        req = {"off": off, "data": data[off:off + 1500]}
        if off == 0:
            req.update({"len": len(data), "sha": hashlib.sha256(data).digest()})
        out = w.feed_lines(lines(packet(1, 1, req)))
        if not out:
            break                           # the last chunk: answered later
        off = __import__("smp_util").unframe(out)[1]["off"]
    for _ in range(20):                     # turns go on while the install waits
        s.poll(0.0, 0.001)
    assert s.busy() and not w.later
    _h, body = w.request(packet(1, 0, {}, op=OP_READ))
    assert body == {"rc": E.EBUSY}          # one request at a time
    blocked.go.set()
    while s.busy():
        s.poll(0.0, 0.01)
    from smp_util import unframe
    assert unframe(b"".join(w.later))[1] == {"off": len(data), "match": True}


def test_resume_rehashes_in_bounded_slices(kit, tmp_path):
    L, s, g = _device(kit, tmp_path)
    big = testkit.small_image(kit.key, kit.board_path, "1.3.0", 3,
                              files={"app.py": testkit.APP, "data/big.bin": bytes(range(256)) * 800})
    w = Wire(ConsoleSmp(s))
    part = _upload(w, s, big, chunk=1800, stop=150000)["off"]
    s2 = Server()
    g2 = image_group.register(s2, str(tmp_path / "storage"))
    hook = ConsoleSmp(s2)
    w2 = Wire(hook)
    assert not w2.feed_lines(lines(packet(1, 1, {"off": 0, "data": b"", "len": len(big),
                                                 "sha": hashlib.sha256(big).digest()})))
    slices = 0
    while s2.busy():
        s2.poll(0.0, 0.0)                   # no budget: one slice per poll
        slices += 1
    assert slices >= part // image_group.HASH_SLICE
    from smp_util import unframe
    assert unframe(b"".join(w2.later))[1] == {"off": part}
    w2.later.clear()
    assert _upload(w2, s2, big, chunk=1800, start=part) == {"off": len(big), "match": True}


# -- statistics, datetime, UDP --------------------------------------------------------

def test_stat_groups_are_the_loops_metrics():
    from hearth.core.metrics import Metrics
    from hearth.smp.groups import stat as stat_group
    m = Metrics()
    m.blocks = 42
    m.overruns["detect"] = 3
    m.detection("okay_nabu", 0.9)
    m.service("console").record(0.002, 0.005)
    app = type("App", (), {"metrics": m, "modes": type("Modes", (), {"counts": {"CONSTRAINED": 2}})()})()
    s = Server()
    stat_group.register(s, app)
    w = Wire(ConsoleSmp(s))
    _h, body = w.request(packet(2, 1, {}, op=OP_READ))
    assert body["stat_list"] == list(stat_group.NAMES)
    _h, body = w.request(packet(2, 0, {"name": "loop"}, op=OP_READ))
    f = body["fields"]
    assert (f["blocks"], f["overrun_detect"], f["mode_CONSTRAINED"]) == (42, 3, 2)
    _h, body = w.request(packet(2, 0, {"name": "detections"}, op=OP_READ))
    assert body["fields"] == {"okay_nabu": 1}
    _h, body = w.request(packet(2, 0, {"name": "services"}, op=OP_READ))
    assert body["fields"]["console_polls"] == 1 and body["fields"]["console_max_us"] == 2000
    _h, body = w.request(packet(2, 0, {"name": "nope"}, op=OP_READ))
    assert body == {"err": {"group": 2, "rc": E.STAT_INVALID_GROUP}}


def test_datetime_reads_and_sets_the_wall_clock():
    from hearth.ports.clock import SimWallClock, WallClock
    wall = SimWallClock(lambda: 0.0, epoch=1e9)
    s = Server()
    os_group.register(s, {}, wall)
    w = Wire(ConsoleSmp(s))
    _h, body = w.request(packet(0, 4, {}, op=OP_READ))
    assert body == {"datetime": "2001-09-09T01:46:40.000000"}
    _h, body = w.request(packet(0, 4, {"datetime": "2026-12-04T05:00:00"}))
    assert body == {} and wall.now() == 1796360400.0
    _h, body = w.request(packet(0, 4, {"datetime": "tomorrow"}))
    assert body == {"rc": E.EINVAL}
    s2 = Server()
    os_group.register(s2, {}, WallClock())
    _h, body = Wire(ConsoleSmp(s2)).request(packet(0, 4, {"datetime": "2026-12-04T05:00:00"}))
    assert body == {"rc": E.ENOTSUP}


def test_smp_over_udp():
    import socket
    from hearth.smp.service import UdpSmp
    s = _server()
    svc = UdpSmp(s, host="127.0.0.1", port=0)
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(5)
    try:
        c.sendto(packet(0, 0, {"d": "over udp"}, seq=9), svc.address)
        c.sendto(b"\x0a\x00", svc.address)                      # shorter than a header
        c.sendto(packet(0, 0, {"d": "x" * 3000}), svc.address)  # larger than the buffer
        c.sendto(packet(9, 0, {"argv": ["status"]}), svc.address)   # no shell over the network
        answers = []
        for _ in range(50):
            svc.poll(0.0, 0.002)
            try:
                while len(answers) < 4:
                    answers.append(decode(c.recvfrom(4096)[0]))
            except socket.timeout:
                pass
            if len(answers) == 4:
                break
        (h, a), (_h2, b), (_h3, d), (_h4, sh) = answers
        assert sh == {"rc": E.EACCESSDENIED}
        assert (h.seq, a) == (9, {"r": "over udp"})
        assert b["rc"] == E.EINVAL and "header" in b["rsn"] and d["rc"] == E.EMSGSIZE
    finally:
        c.close()
        svc.close()
