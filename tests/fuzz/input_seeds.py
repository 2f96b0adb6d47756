"""Seed writers for the fuzz targets of the device's and the host's other
untrusted inputs (fuzz_inputs.py): launcher records, board files, console
traffic, OTA records and metadata, compressed images, device replies.

Real files wherever there are any: records the launcher writes for a device
the test kit provisions, the boards/*.toml, images the repository's own
compressor writes.
"""
import json
import lzma
import os

from fuzz_targets import _copy, _signed_images

# The launcher's four records in one input, in this order, split at SEP;
# a part that is absent is a missing file.
STATE_PARTS = ("boot/state.json", "boot/state.copy.json", "boot/confirmed.json", "boot/device.json")
SEP = b"\n--\n"


class MemStorage:
    """The part of hearth.boot.storage.Storage the record readers use."""

    def __init__(self, files):
        self.files = dict(files)

    def exists(self, name):
        return name in self.files

    def read(self, name):
        return self.files[name]

    def write_atomic(self, name, data):
        self.files[name] = bytes(data)


def _write(directory, name, data):
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def _records(st):
    return SEP.join(st.read(n) if st.exists(n) else b"" for n in STATE_PARTS)


def state_seeds(directory, work):
    """The records a test device holds after init, a trial install, its
    confirm and a second install; and with one copy lost."""
    from hearth.boot.device import load_board
    from hearth.boot.launcher import Launcher, init
    from hearth.boot.storage import DirStorage
    from hearth_tools.testing import testkit
    from fuzz_targets import SIGNING_KEY
    images = _signed_images(work)
    board = load_board(testkit.write_board(work, slot_bytes=64 * 1024))
    st = DirStorage(os.path.join(work, "state-device"))
    with open(SIGNING_KEY, "rb") as f:
        init(st, board, [("key.pem", f.read())])
    L = Launcher(st)
    _write(directory, "init", _records(st))
    for i, image in enumerate(images[:2]):
        path = os.path.join(work, "state-image%d.img" % i)
        with open(path, "wb") as f:
            f.write(image)
        L.install(path)
        _write(directory, "installed%d" % i, _records(st))
        d = L.select()
        L.materialize(d)
        _write(directory, "trial%d" % i, _records(st))
        L.confirm()
        _write(directory, "confirmed%d" % i, _records(st))
    parts = _records(st).split(SEP)
    _write(directory, "copy-lost", SEP.join([b""] + parts[1:]))


def board_seeds(directory, work):
    _copy(directory, "boards/*.toml")
    from hearth_tools.testing import testkit
    for arch in ("host", "aarch64"):
        path = testkit.write_board(work, name="seedboard", arch=arch)
        with open(path, "rb") as f:
            _write(directory, os.path.basename(path), f.read())


# What a terminal user and a host tool send down the console line.
CONSOLE_TRAFFIC = {
    "crlf": b"help\r\nstatus --json\r\n",
    "cr-then-lf": b"status\r" + b"\nmetrics\r",
    "lf": b"oven setpoint 180\noven timer 600\n",
    "backspace": b"statsu\x7f\x7fus\r\x08\x08help\r",
    "ctrl-c": b"oven sta\x03oven stop\r",
    "quotes": b"echo \"two words\" 'and more' --json\r",
    "unterminated": b"echo \"open\r",
    "utf8": "echo \u00e9t\u00e9 \u2014 \U0001f525\r".encode() + b"echo \xe2\x82\x7f\r",
    "not-utf8": b"echo \xff\xfe\r",
    "escapes": b"echo \x1b[2J\x1b]0;title\x07\r",
    "smp-first": b"\x06\x09AAoAAAEAAQA=\n",
    "smp-cont": b"\x06\x09AAoAAAEA\n\x04\x14AQA=\n",
    "smp-then-line": b"\x06\x09AAo=\nhelp\r",
    "held-0x06": b"\x06help\r\x04\r",
    "long": b"echo " + b"x" * 600 + b"\r",
    "numbers": b"num 12\rnum x\rnum\rfail boom\rbug\r",
}


def console_seeds(directory, work):
    for name, data in CONSOLE_TRAFFIC.items():
        _write(directory, name, data)


def ota_record_seeds(directory, work):
    """ota/state.json as the client writes it (hearth.ota.record.record)."""
    from hearth.boot.storage import DirStorage
    from hearth.ota import record
    st = DirStorage(os.path.join(work, "ota-record"))
    record.record(st, "nothing", "up to date (running 1.0.0)")
    _write(directory, "nothing", st.read(record.STATE))
    record.record(st, "installed", None, target="b/1.1.0/full", kind="full", version="1.1.0", bytes=70000)
    record.record(st, "refused", "bad-signature", target="b/1.2.0/xz", kind="xz", version="1.2.0")
    _write(directory, "history", st.read(record.STATE))
    _write(directory, "config", b'{"device_id": "dev-1", "ring": "canary", "url": "http://repo:8000/"}\n')


# The device the selection runs for (its running image is 1.0.0, digest aa..).
SELECT_DEVICE = {"board": "b", "arch": "x86_64", "device_id": "dev-1", "ring": "canary", "version": "1.0.0",
                 "digest": "aa" * 32, "security_counter": 1, "launcher_version": "1.0.0",
                 "kinds": {"full", "xz", "delta"}}


def _meta(version, kind="full", compression=None, sc=1, board="b", arch="x86_64", **kw):
    h = {"board": board, "arch": arch, "version": version, "security_counter": sc,
         "min_launcher_version": "1.0.0", "rollback_target": None, "kind": kind, "compression": compression,
         "image_digest": "cd" * 32, "image_sha256": "ef" * 32, "image_length": 70000, "models": []}
    h.update(kw)
    return h


def select_seeds(directory, work):
    """targets-role custom metadata in the shape hearth_tools.repo.targets writes."""
    offered = {"rings": {"canary": 100}, "halted": False}
    releases = {
        "one-full": [_meta("1.1.0")],
        "full-xz-delta": [_meta("1.1.0"), _meta("1.1.0", compression="xz"),
                          _meta("1.1.0", "delta", base_digest="aa" * 32, base_version="1.0.0")],
        "two-releases": [_meta("1.1.0"), _meta("1.2.0", sc=2), _meta("1.3.0", min_launcher_version="9.0.0")],
        "other-boards": [_meta("1.1.0", board="x"), _meta("1.1.0", arch="aarch64"), _meta("0.9.0")],
    }
    for name, metas in releases.items():
        targets = {"%s/%s/%s%d" % (h["board"], h["version"], h["kind"], i): {"hearth": h, "rollout": offered}
                   for i, h in enumerate(metas)}
        _write(directory, name, json.dumps(targets, sort_keys=True).encode())
    halted = {"b/1.1.0/full": {"hearth": _meta("1.1.0"), "rollout": {"rings": {"all": 10}, "halted": True}}}
    _write(directory, "halted", json.dumps(halted).encode())


def decompress_seeds(directory, work):
    """Small real compressed images: the repository's xz (compress_xz) and
    zstd of a signed image and of a run of zeros; first byte: 0 zstd, 1 xz."""
    import zstandard
    from hearth_tools.repo.targets import compress_xz
    images = _signed_images(work)[:2] + [bytes(4096)]
    for i, image in enumerate(images):
        _write(directory, "image%d.xz" % i, b"\x01" + compress_xz(image))
        _write(directory, "image%d.zst" % i, b"\x00" + zstandard.ZstdCompressor(level=9).compress(image))
    _write(directory, "plain.xz", b"\x01" + lzma.compress(b"hearth " * 50, format=lzma.FORMAT_XZ))


# What a device sends back, as the console prints it (hearth.console.line).
DEVICE_OUTPUT = {
    "json-ok": b'status --json\r\n{"ok": true, "command": "status", "result": {"mode": "idle"}}\r\nhearth> ',
    "json-error": b'{"ok": false, "error": "unknown command \'x\' (try help)"}\r\nhearth> ',
    "text": b"status\r\nmode idle (power on)\r\nsetpoint 180 C\r\nhearth> ",
    "text-error": b"error: usage: oven start|stop\r\nhearth> ",
    "log-first": b"[   12.34] INFO  app      started\r\nstatus\r\nmode idle\r\nhearth> ",
    "log-only": b"[   12.34] INFO  app      a\n[   12.35] WARN  oven     b\nhearth> ",
    "redrawn-prompt": b"hearth> [    1.00] INFO  x  y\r\nhearth> status --json\r\n{\"ok\": true}\r\nhearth> ",
    "garbage": b"\x00\xff\xfe\x1b[0m not a console\r\n",
}


def device_seeds(directory, work):
    # first byte: bit 0 the console echoes, bits 1-2 the command
    for i, (name, data) in enumerate(sorted(DEVICE_OUTPUT.items())):
        _write(directory, name, bytes([i % 8]) + data)

