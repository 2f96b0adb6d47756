"""Delta patches: create/apply round trips (Hearth images and plain files), the
streaming contract of the applier, and the `hearth delta` command line."""
import hashlib
import io
import json
import os
import random

import pytest

from hearth import delta as D
from hearth.delta import format as F
from hearth.image import mcuboot
from hearth_tools import delta
from hearth_tools.testing import delta_pairs as testpairs
from hearth_tools.testing import testkit

from conftest import run_hearth  # noqa: E402

SEED = 20261204


class Sink:
    def __init__(self):
        self.buf = bytearray()

    def write(self, b):
        self.buf += b


class OneWayStream:
    """A network-like stream: read() only, no seek; records how it was read."""

    def __init__(self, data):
        self._f = io.BytesIO(data)
        self.reads = []

    def read(self, n):
        b = self._f.read(n)
        self.reads.append(len(b))
        return b


class TracingBase:
    def __init__(self, data):
        self.data = data
        self.size = len(data)
        self.offsets = []

    def read_at(self, off, n):
        self.offsets.append((off, n))
        return self.data[off:off + n]


def roundtrip(old, new):
    p = delta.create(old, new)
    out = Sink()
    s = D.apply(old, io.BytesIO(p), out)
    assert bytes(out.buf) == new
    assert s.result_size == len(new) and s.result_sha256 == hashlib.sha256(new).hexdigest()
    return p


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("delta")
    key = testkit.keygen(str(d / "key.pem"))
    board = testkit.write_board(str(d), slot_bytes=8 << 20)
    old, new = testpairs.firmware_pair(str(d), key, board)
    return {"dir": d, "key": key, "board": board, "old": old, "new": new}


@pytest.mark.parametrize("old,new", [(b"", b""), (b"", b"abc"), (b"abc", b""), (b"same" * 1000, b"same" * 1000),
                                     (b"x" * 100000, b"x" * 100001), (b"\0" * 5000, bytes(range(256)) * 20)],
                         ids=["empty-empty", "empty-new", "empty-result", "identical", "grow-one", "unrelated"])
def test_edge_cases_round_trip(old, new):
    p = roundtrip(old, new)
    h = D.read_header(io.BytesIO(p))
    assert (h.base_size, h.result_size) == (len(old), len(new))
    if old == new:
        assert len(p) < F.HEADER_SIZE + 64          # a copy, not the data


@pytest.mark.parametrize("seed", [SEED, SEED + 1, SEED + 2])
def test_random_pairs_round_trip(seed):
    rng = random.Random(seed)
    edits = rng.randrange(1, 200)
    old, new = testpairs.synthetic(rng.randrange(1000, 300000), seed, edits=edits)
    p = roundtrip(old, new)
    inserted = len(new) - len(old)                   # random bytes: they cost what they are
    assert len(p) < inserted + 40 * edits + 300, "seed %d" % seed


def test_multi_segment_plain_file():
    old, new = testpairs.synthetic(3 << 20, SEED, edits=300)
    p = roundtrip(old, new)
    assert D.read_header(io.BytesIO(p)).segments >= 3


def test_hearth_images_are_rebuilt_byte_for_byte(images):
    old, new = images["old"], images["new"]
    p = roundtrip(old, new)
    assert p[5] == F.KIND_IMAGE, "two Hearth images get the structure-aware encoding"
    out = Sink()
    D.apply(old, io.BytesIO(p), out)
    key = mcuboot.TrustedKey.from_pem(open(images["key"], "rb").read())
    img = mcuboot.verify(bytes(out.buf), [key])
    assert img.version_str == "1.0.1"
    # a Python fix, a changed data file and a new file: a small fraction of the image
    assert len(p) < len(new) // 200


def test_structure_aware_beats_plain_on_images(images):
    old, new = images["old"], images["new"]
    assert len(delta.plan_image(old, new)) < len(delta.plan_plain(old, new))


def test_applier_reads_the_patch_once_in_order_and_the_base_by_offset(images):
    old, new = images["old"], images["new"]
    p = delta.create(old, new)
    stream = OneWayStream(p)
    base = TracingBase(old)
    out = Sink()
    D.apply(base, stream, out)
    assert bytes(out.buf) == new
    assert sum(stream.reads) == len(p)               # every byte once, nothing re-read
    assert max(n for _o, n in base.offsets) <= 1 << 16


def test_apply_file_and_create_file(tmp_path, images):
    o, n, p, r = (str(tmp_path / x) for x in ("old.img", "new.img", "p.hdlt", "r.img"))
    open(o, "wb").write(images["old"])
    open(n, "wb").write(images["new"])
    info = delta.create_file(o, n, p)
    assert info["size"] == os.path.getsize(p) and info["kind"] == "image"
    s = D.apply_file(o, p, r)
    assert open(r, "rb").read() == images["new"] and s.kind == "image"


def test_failed_apply_file_leaves_no_output(tmp_path):
    old, new = testpairs.synthetic(50000, SEED)
    o, p, r = (str(tmp_path / x) for x in ("o", "p", "r"))
    open(o, "wb").write(old)
    open(p, "wb").write(delta.create(old, new)[:-5])
    with pytest.raises(D.DeltaError) as e:
        D.apply_file(o, p, r)
    assert e.value.code == "truncated"
    assert not os.path.exists(r) and not os.path.exists(r + ".tmp")


def test_cli_create_apply_info(tmp_path, images):
    o, n, p, r = (str(tmp_path / x) for x in ("old.img", "new.img", "p.hdlt", "r.img"))
    open(o, "wb").write(images["old"])
    open(n, "wb").write(images["new"])
    rc, out, err = run_hearth("--json", "delta", "create", o, n, "-o", p)
    assert rc == 0, err
    made = json.loads(out)
    assert made["size"] == os.path.getsize(p)
    rc, out, err = run_hearth("delta", "apply", o, p, "-o", r, "--json")
    assert rc == 0, err
    assert json.loads(out)["result_sha256"] == hashlib.sha256(images["new"]).hexdigest()
    assert open(r, "rb").read() == images["new"]
    rc, out, err = run_hearth("--json", "delta", "info", p)
    assert rc == 0 and json.loads(out)["kind"] == "image"


def test_cli_refuses_in_one_line(tmp_path, images):
    o, n, p, r = (str(tmp_path / x) for x in ("old.img", "new.img", "p.hdlt", "r.img"))
    open(o, "wb").write(images["old"])
    open(n, "wb").write(images["new"])
    open(p, "wb").write(delta.create(images["old"], images["new"]))
    rc, out, err = run_hearth("delta", "apply", n, p, "-o", r)      # the wrong base
    assert rc == 1 and "base-mismatch" in err and len(err.strip().splitlines()) == 1
    assert not os.path.exists(r)
    rc, out, err = run_hearth("delta", "apply", o, str(tmp_path / "missing"), "-o", r)
    assert rc == 2 and "no such file" in err
    rc, out, err = run_hearth("--json", "delta", "apply", o, o, "-o", r)   # not a patch
    assert rc == 1 and "bad-magic" in err and json.loads(out)["ok"] is False


def test_device_cli_applies_without_host_tools(tmp_path, images):
    """python -m hearth.delta apply: a fresh interpreter that must not import hearth_tools."""
    import subprocess
    import sys
    o, p, r = (str(tmp_path / x) for x in ("old.img", "p.hdlt", "r.img"))
    open(o, "wb").write(images["old"])
    open(p, "wb").write(delta.create(images["old"], images["new"]))
    code = ("import sys, runpy; sys.argv = ['hearth.delta', '--json', 'apply', %r, %r, '-o', %r]\n"
            "try:\n    runpy.run_module('hearth.delta', run_name='__main__')\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "assert not [m for m in sys.modules if m.startswith(('hearth_tools', 'bsdiff4'))]\n" % (o, p, r))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["result_size"] == len(images["new"])
    assert open(r, "rb").read() == images["new"]
