"""Apply memory stays bounded, independent of image size: the Hearth image pair
and a synthetic 64 MiB pair are applied in a fresh interpreter each, and peak
RSS (VmHWM) is compared with an idle interpreter that imported the same modules
(hearth.delta, hashlib/OpenSSL, lzma, zstandard: code, not working memory);
tracemalloc's peak of the apply is checked too."""
import json
import os
import subprocess
import sys

import pytest

from hearth_tools import delta
from hearth_tools.testing import delta_pairs as testpairs
from hearth_tools.testing import testkit

LIMIT = 4 << 20
SEED = 64

_CHILD = r"""
import json, sys, tracemalloc
import hashlib, lzma, zstandard
import hearth.delta, hearth.delta.applier
out = {}
if sys.argv[1] == "apply":
    if sys.argv[5] == "trace":
        tracemalloc.start()
    s = hearth.delta.apply_file(sys.argv[2], sys.argv[3], sys.argv[4])
    out["result_size"] = s.result_size
    if sys.argv[5] == "trace":
        out["traced_peak"] = tracemalloc.get_traced_memory()[1]
# VmHWM, not ru_maxrss: the latter carries the forking parent's peak across exec
with open("/proc/self/status") as f:
    out["maxrss"] = [int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:")][0]
print(json.dumps(out))
"""


def child(*argv):
    r = subprocess.run([sys.executable, "-c", _CHILD] + list(argv), capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    d = tmp_path_factory.mktemp("delta-mem")
    key = testkit.keygen(str(d / "key.pem"))
    board = testkit.write_board(str(d), slot_bytes=8 << 20)
    img_old, img_new = testpairs.firmware_pair(str(d), key, board)
    big_old, big_new, big_patch = testpairs.synthetic_patch(64 << 20, SEED, edits=200)
    out = {}
    for name, (old, new, patch) in {"image": (img_old, img_new, delta.create(img_old, img_new)),
                                    "64MiB": (big_old, big_new, big_patch),
                                    "zdict-max": _zdict_worst_case()}.items():
        paths = [str(d / ("%s.%s" % (name, x))) for x in ("old", "patch", "out")]
        for p, data in zip(paths, (old, patch)):
            with open(p, "wb") as f:
                f.write(data)
        out[name] = (paths, new)
    return out


def _zdict_worst_case():
    """The format's largest working set: a zstd segment with a MAX_ZDICT
    dictionary making MAX_ZDICT bytes of output."""
    import hashlib
    from hearth.delta import format as F
    from hearth_tools.delta import ops as O
    old, new = testpairs.synthetic(2 * F.MAX_ZDICT, SEED, edits=300)
    new = new[:F.MAX_ZDICT]
    seg = O.zdict_segment(0, old[:F.MAX_ZDICT], new)
    head = F.pack_header(F.KIND_PLAIN, len(old), hashlib.sha256(old).digest(), len(new),
                         hashlib.sha256(new).digest(), 0, 1)
    return old, new, head + seg


def test_apply_peak_memory_is_bounded_and_independent_of_size(pairs):
    idle = min(child("idle")["maxrss"] for _ in range(3))
    above = {}
    for name, (paths, new) in pairs.items():
        got = child("apply", *paths, "rss")
        assert got["result_size"] == len(new)
        with open(paths[2], "rb") as f:
            assert f.read() == new
        above[name] = got["maxrss"] - idle
        traced = child("apply", *paths, "trace")["traced_peak"]
        assert traced < LIMIT, "%s: tracemalloc peak %d bytes" % (name, traced)
        os.unlink(paths[2])
    print("idle %d B; apply peak RSS above it: %s" % (idle, {k: "%.2f MiB" % (v / 2**20) for k, v in above.items()}))
    assert max(above.values()) < LIMIT, above
    # 44x the output of the image pair, no more memory: what bounds it is the
    # format's limits (zdict-max is the largest working set a patch may ask for)
    assert above["64MiB"] <= above["image"] + (1 << 20), above
