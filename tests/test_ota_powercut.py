"""A power cut at every storage write of an OTA update (download + install),
then the next boot's update: zero failures.

The device storage is the counting simulated disk (tests/simdisk.py); the
TUF metadata directory is a real one (ngclient writes it as files; it is
not what this test cuts). A clean update's storage operations are counted;
then for every operation i and crash mode ("drop": only fsynced data
survives, "keep": everything issued survives and the write in flight is
torn) the update runs from nginx with the power failing at i, the disk
keeps what the crash model says, and a fresh client (the next boot) runs
the update again. Each must end with 1.2.0 staged as a trial of the
launcher, 1.0.0 still the confirmed image, the partial download gone, and
at most one chunk fetched twice.
"""
import os
import random
import shutil

import pytest

from hearth.boot.device import load_board
from hearth.boot.launcher import Launcher, init
from hearth.boot.storage import DirStorage, PowerCut
from hearth.ota import record as R
from hearth.ota.client import Client
from hearth.ota.fetcher import Bounds
from hearth_tools import repo as repo_mod
from hearth_tools.testing import testkit
from ota_testenv import BOARD, Template
from nginx_server import nginx_server  # noqa: F401  (fixture)
from simdisk import SimStorage

pytestmark = pytest.mark.timeout(900)
CHUNK = 1024                   # download chunks and install writes: cuts land inside both streams
SEED = int(os.environ.get("HEARTH_SEED", "20261204"))
BOUNDS = Bounds(stall_timeout=5.0, retry_delay=0.01, max_retry_delay=0.02)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    t = Template(tmp_path_factory.mktemp("ota-powercut"))
    # 1.2.0 carries 24 KiB that do not compress: a download of ~25 chunks
    data = random.Random(SEED).randbytes(24 * 1024)
    path = os.path.join(t.dir, "v12.img")
    with open(path, "wb") as f:
        f.write(testkit.small_image(t.key, t.board_path, "1.2.0", 3,
                                    files={"app.py": testkit.APP, "data/noise.bin": data}))
    repo_mod.add(t.repo, path)
    repo_mod.publish(t.repo)
    repo_mod.set_rollout(t.repo, "1.2.0", BOARD, 100)
    return t


@pytest.fixture
def device(template, tmp_path, nginx_server):  # noqa: F811
    print("HEARTH_SEED=%d" % SEED)
    repo = str(tmp_path / "repo")
    shutil.copytree(template.repo, repo, symlinks=True)
    url = nginx_server(os.path.join(repo, "public")).url
    st = SimStorage()
    with open(template.key, "rb") as f:
        init(st, load_board(template.board_path), [("image-key.pem", f.read())])
    L = Launcher(st)
    with open(template.images["v1"], "rb") as f:
        L.install(f)
    L.materialize(L.select())
    L.confirm()
    meta = DirStorage(str(tmp_path / "meta"))
    with open(os.path.join(repo, "public", "metadata", "1.root.json"), "rb") as f:
        client(st, url, meta).init(f.read(), device_id="device-0001", url=url)
    return st.crash("keep").snapshot(), url, meta


def client(st, url, meta):
    return Client(st, url=url, meta_storage=meta, bounds=BOUNDS, chunk=CHUNK, install_chunk=CHUNK)


def staged(st):
    """1.2.0 is the pending trial, 1.0.0 the confirmed image it falls back to."""
    s = Launcher(st).status()
    assert s["version"] == "1.0.0" and s["pending"] == "b", s
    assert s["slots"]["b"]["version"] == "1.2.0" and s["slots"]["a"]["confirmed"], s
    d = Launcher(st).select(dry_run=True)
    assert d.trial and d.verified.version == "1.2.0"


def test_power_cut_at_every_write_of_download_and_install(device):
    base, url, meta = device
    clean = SimStorage(base)
    c = client(clean, url, meta)
    out = c.update()
    assert out["event"] == "installed", out
    ops = clean.op_count
    length = out["target_length"]
    assert ops > 2 * (length // CHUNK)               # every chunk is write + fsync + a record, then install
    staged(clean)
    worst, checked = 0, 0
    for mode in ("drop", "keep"):
        for i in range(ops):
            st = SimStorage(base)
            st.cut_at = i
            c = client(st, url, meta)
            with pytest.raises(PowerCut):
                c.update()
            before = c.last_download.stats["received"] if c.last_download else 0
            after = st.crash(mode)
            c = client(after, url, meta)
            out = c.update()
            where = "cut at %d of %d (%s)" % (i, ops, mode)
            if out["event"] == "nothing":                # the install was complete before the cut
                assert "trial image is pending" in out["reason"], (where, out)
            else:
                assert out["event"] == "installed", (where, out)
            staged(after)
            assert not after.list_files(R.DOWNLOAD), (where, after.list_files(R.DOWNLOAD))
            assert R.load_state(after).get("downloaded") is None, where
            got = c.last_download.stats["received"] if c.last_download else 0
            refetched = before + got - length if got else 0
            assert refetched <= CHUNK, "%s: %d bytes fetched again" % (where, refetched)
            worst = max(worst, refetched)
            checked += 1
    print("ota power cuts: %d cut points x 2 crash modes = %d reboots, zero failures; most bytes fetched "
          "again: %d (chunk %d, target %d bytes)" % (ops, checked, worst, CHUNK, length))
