"""A power cut at every storage operation of a download, then resume after the reboot.

The clean download's storage operations are counted on the simulated disk
(tests/simdisk.py); then for every operation i and crash mode ("drop": only
fsynced data survives, "keep": everything issued survives and the write in
flight is torn) the download runs from nginx with the power failing at i, the
disk keeps what the crash model says, and a fresh ResumableDownload (the next
boot) resumes. Each must complete with exactly the served bytes, having
received at most one chunk twice. Then seeded multi-cut runs in "random" mode.
"""
import hashlib
import os
import random

import pytest

from nginx_server import nginx_server  # noqa: F401  (fixture)
from hearth.boot.storage import PowerCut
from hearth.ota.fetcher import Bounds, ResumableDownload
from simdisk import SimStorage

SEED = int(os.environ.get("HEARTH_SEED", "20261204"))
SIZE = 200 * 1000 + 777
CHUNK = 16 * 1024
BOUNDS = Bounds(stall_timeout=5.0, retry_delay=0.01, max_retry_delay=0.02)


@pytest.fixture(scope="module")
def payload():
    return random.Random(SEED).randbytes(SIZE)


@pytest.fixture
def served(tmp_path, payload, nginx_server):  # noqa: F811
    print("HEARTH_SEED=%d" % SEED)
    (tmp_path / "img.bin").write_bytes(payload)
    return nginx_server(str(tmp_path))


@pytest.fixture
def url(served):
    return served.url + "img.bin"


def download(st, url, payload):
    return ResumableDownload(st, "ota/dl", url, SIZE, {"sha256": hashlib.sha256(payload).hexdigest()},
                             chunk=CHUNK, bounds=BOUNDS)


def run_until_cut(st, url, payload):
    """Run the download; returns (state or "cut", bytes it had received)."""
    dl = download(st, url, payload)
    try:
        return dl.run(30), dl.stats["received"]
    except PowerCut:
        return "cut", dl.stats["received"]


def test_power_cut_at_every_write_of_a_download(url, payload):
    clean = SimStorage()
    assert run_until_cut(clean, url, payload)[0] == "done"
    ops = clean.op_count
    assert ops > 3 * (SIZE // CHUNK)                  # every chunk is write + fsync + a record
    checked, worst = 0, 0
    for mode in ("drop", "keep"):
        for i in range(ops):
            st = SimStorage()
            st.cut_at = i
            state, before = run_until_cut(st, url, payload)
            assert state == "cut", "operation %d never ran" % i
            after = st.crash(mode)
            dl = download(after, url, payload)
            assert dl.run(30) == "done", "cut at %d (%s): %s" % (i, mode, dl.last_error)
            assert b"".join(dl.chunks()) == payload, "cut at %d (%s): wrong bytes" % (i, mode)
            refetched = before + dl.stats["received"] - dl.stats["discarded"] - SIZE
            assert refetched <= CHUNK, "cut at %d (%s): %d bytes fetched again" % (i, mode, refetched)
            checked += 1
            worst = max(worst, refetched)
    print("download power cuts: %d cut points x 2 crash modes = %d reboots, zero failures; "
          "most bytes fetched again after a cut: %d (chunk %d)" % (ops, checked, worst, CHUNK))


def test_power_cut_at_every_write_of_a_restart(served, payload):
    """The partial on storage is of an older file: the resume is answered with the new file
    whole, the partial is discarded and the download starts over. Cut at every operation."""
    url = served.url + "img.bin"
    old = bytes(b ^ 0xA5 for b in payload)
    (served.dir / "img.bin").write_bytes(old)
    base = SimStorage()
    dl = download(base, url, payload)
    while dl.have < 4 * CHUNK:
        dl.step(CHUNK, wait=0.5)
    dl._drop_conn()
    base = base.crash("keep").snapshot()              # 4+ chunks of the old file, all durable
    (served.dir / "img.bin").write_bytes(payload)
    os.utime(served.dir / "img.bin", (1, 1))          # a new Last-Modified: If-Range fails

    clean = SimStorage(base)
    dl = download(clean, url, payload)
    assert dl.run(30) == "done" and dl.stats["restarts"] == 1
    checked = 0
    for mode in ("drop", "keep"):
        for i in range(clean.op_count):
            st = SimStorage(base)
            st.cut_at = i
            assert run_until_cut(st, url, payload)[0] == "cut", "operation %d never ran" % i
            dl = download(st.crash(mode), url, payload)
            assert dl.run(30) == "done", "cut at %d (%s): %s" % (i, mode, dl.last_error)
            assert b"".join(dl.chunks()) == payload, "cut at %d (%s): wrong bytes" % (i, mode)
            checked += 1
    print("restart power cuts: %d reboots, zero failures" % checked)


def test_several_cuts_random_crash_mode(url, payload):
    rng = random.Random(SEED)
    for run in range(12):
        st = SimStorage()
        received = 0
        for cut in range(rng.randint(2, 4)):
            st.cut_at = st.op_count + rng.randint(0, 40)
            state, got = run_until_cut(st, url, payload)
            received += got
            st = st.crash("random", rng=rng)
            if state == "done":
                break
        dl = download(st, url, payload)
        assert dl.run(30) == "done", "run %d: %s" % (run, dl.last_error)
        assert b"".join(dl.chunks()) == payload, "run %d: wrong bytes" % run
