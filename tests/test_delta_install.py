"""`python -m hearth.boot install --delta PATCH` on a real storage directory: the
result installs exactly as the full image would (trial boot, then confirm)."""
import contextlib
import io
import json

import pytest

from hearth.boot import __main__ as boot_main
from hearth.boot import state as S
from hearth.boot.device import load_board
from hearth.boot.launcher import DELTA_DIR, Launcher, init
from hearth.boot.storage import DirStorage
from hearth_tools import delta
from hearth_tools.testing import delta_pairs as testpairs
from hearth_tools.testing import testkit


def run_boot(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = boot_main.main(list(argv))
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture()
def device(tmp_path):
    key = testkit.keygen(str(tmp_path / "key.pem"))
    board_path = testkit.write_board(str(tmp_path), slot_bytes=8 << 20)
    old, new = testpairs.firmware_pair(str(tmp_path), key, board_path)
    st = DirStorage(str(tmp_path / "storage"))
    init(st, load_board(board_path), [("key.pem", open(key, "rb").read())])
    L = Launcher(st)
    L.install(old)
    L.materialize(L.select())
    L.confirm()
    patch = tmp_path / "update.hdlt"
    patch.write_bytes(delta.create(old, new))
    return {"st": st, "old": old, "new": new, "patch": str(patch), "storage": str(tmp_path / "storage")}


def test_install_delta_then_trial_boot_and_confirm(device):
    rc, out, err = run_boot("--storage", device["storage"], "--json", "install", "--delta", device["patch"])
    assert rc == 0, err
    r = json.loads(out)
    assert r["slot"] == "b" and r["version"] == "1.0.1" and r["trial"] and r["delta"]["kind"] == "image"
    st = device["st"]
    assert st.read(S.slot_file("b")) == device["new"] and st.read(S.slot_file("a")) == device["old"]
    assert not st.list_files(DELTA_DIR)
    L = Launcher(st)
    d = L.select()
    assert d.slot == "b" and d.trial
    L.materialize(d)
    assert L.confirm()["confirmed"] and L.status()["version"] == "1.0.1"


def test_install_delta_refusals(device):
    rc, out, err = run_boot("--storage", device["storage"], "install", "--delta", device["patch"], "x.img")
    assert rc == 2 and "one of them" in err
    # a patch made for another base: refused, nothing written
    wrong = device["patch"] + ".wrong"
    with open(wrong, "wb") as f:
        f.write(delta.create(device["new"], device["old"]))
    rc, out, err = run_boot("--storage", device["storage"], "install", "--delta", wrong)
    assert rc == 1 and "base-mismatch" in err and len(err.strip().splitlines()) == 1
    assert not device["st"].exists(S.slot_file("b"))
    rc, out, err = run_boot("--storage", device["storage"], "--json", "install", "--delta", device["patch"] + ".none")
    assert rc == 2 and json.loads(out)["ok"] is False
