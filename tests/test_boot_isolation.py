"""Only verified code runs at boot.

The launcher runs the image's entry module from boot/run/<digest>/. Files
planted there (a sitecustomize.py, which Python runs at every start when the
directory is on the path) or in the working directory the launcher was
started from (an app.py or a hearth/ package, which `python -m` would import
before the bundle's) must not run; the application sees only the launcher's
environment contract (hearth.boot.contract), not whatever the launcher
inherited (PYTHONPATH, PYTHONSTARTUP, ...).
"""
import json
import os
import subprocess
import sys

import pytest

from hearth.boot import contract
from hearth.boot import state as S
from hearth.boot.device import load_board
from hearth.boot.launcher import Launcher, init
from hearth.boot.storage import DirStorage
from hearth_tools.testing import testkit

# the image's application: reports what it sees
REPORTER = b'''import json, os, sys
env = sorted(os.environ)          # before hearth sets its own thread limits
import hearth
import helper                     # a module of the bundle (imported, not run as __main__)
print(json.dumps({"slot": os.environ.get("HEARTH_BOOT_SLOT"), "argv": sys.argv[1:], "cwd": os.getcwd(),
                  "env": env, "isolated": sys.flags.isolated, "hearth": hearth.__file__,
                  "app": __file__, "genuine": True}))
'''
BUNDLE = ["app.py", "board.toml", "helper.py", "manifest.json"]
PLANT = '''import os
open(os.path.join(%r, "%s"), "w").write("ran")
print('{"planted": "%s"}')
'''


@pytest.fixture
def device(tmp_path):
    key = testkit.keygen(str(tmp_path / "key.pem"))
    board_path = testkit.write_board(str(tmp_path), slot_bytes=64 * 1024)
    image = tmp_path / "v1.img"
    image.write_bytes(testkit.small_image(key, board_path, "1.0.0", 1, files={"app.py": REPORTER, "helper.py": b"X = 1\n"}))
    st = DirStorage(str(tmp_path / "storage"))
    init(st, load_board(board_path), [("key.pem", open(key, "rb").read())])
    L = Launcher(st)
    L.install(str(image))
    d = L.select()
    L.materialize(d)
    L.confirm()
    return tmp_path, st, st.local_path(d.run_dir)


def plant(tmp_path, run_dir):
    """sitecustomize.py in the run dir, app.py and hearth/ in a working directory."""
    marks = tmp_path / "marks"
    marks.mkdir()
    cwd = tmp_path / "cwd"
    (cwd / "hearth").mkdir(parents=True)
    with open(os.path.join(run_dir, "sitecustomize.py"), "w") as f:
        f.write(PLANT % (str(marks), "sitecustomize", "sitecustomize"))
    (cwd / "app.py").write_text(PLANT % (str(marks), "app", "app"))
    (cwd / "hearth" / "__init__.py").write_text(PLANT % (str(marks), "hearth", "hearth"))
    (cwd / "sitecustomize.py").write_text(PLANT % (str(marks), "cwd-sitecustomize", "cwd-sitecustomize"))
    return marks, cwd


def boot_cli(st, cwd, extra_env):
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)          # not set on a device
    env.update(extra_env)
    # the supervisor starts the launcher isolated (-I), so the working directory
    # cannot shadow the launcher itself; what the launcher starts is the question
    r = subprocess.run([sys.executable, "-I", "-m", "hearth.boot", "boot", "--storage", st.root, "--", "x", "y"],
                       capture_output=True, text=True, cwd=str(cwd), env=env, timeout=120)
    return r


def test_planted_files_do_not_run(device):
    tmp_path, st, run_dir = device
    marks, cwd = plant(tmp_path, run_dir)
    r = boot_cli(st, cwd, {"PYTHONPATH": str(cwd), "PYTHONSTARTUP": str(cwd / "app.py"),
                           "HEARTH_UNRELATED": "1", "SECRET_TOKEN": "x"})
    assert r.returncode == 0, r.stderr
    assert os.listdir(str(marks)) == [], "planted code ran: %s" % os.listdir(str(marks))
    out = json.loads(r.stdout)
    assert out["genuine"] and out["argv"] == ["x", "y"] and out["slot"] == "a", out
    assert os.path.realpath(out["app"]) == os.path.realpath(os.path.join(run_dir, "app.py"))
    assert not os.path.realpath(out["hearth"]).startswith(os.path.realpath(str(cwd)))
    assert not os.path.exists(os.path.join(run_dir, "sitecustomize.py"))        # the run dir was rebuilt
    assert sorted(os.listdir(run_dir)) == BUNDLE


def test_application_sees_only_the_contract(device):
    tmp_path, st, run_dir = device
    r = boot_cli(st, tmp_path, {"PYTHONPATH": "/nowhere", "HEARTH_UNRELATED": "1", "SECRET_TOKEN": "x",
                                "LANG": "C.UTF-8", "NOTIFY_SOCKET": "/run/systemd/notify"})
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["isolated"] == 1
    assert os.path.realpath(out["cwd"]) == os.path.realpath(run_dir)
    allowed = set(contract.NAMES) | set(contract.PASSED_THROUGH)
    assert set(out["env"]) <= allowed, set(out["env"]) - allowed
    assert set(contract.NAMES) <= set(out["env"])
    assert {"LANG", "NOTIFY_SOCKET", "PATH"} <= set(out["env"])
    assert not any(name in out["env"] for name in ("PYTHONPATH", "HEARTH_UNRELATED", "SECRET_TOKEN"))


def test_no_bytecode_is_written_into_the_run_dir(device):
    # a __pycache__ there would be an extra file (rebuilt at every boot) and,
    # planted, code that runs in place of the verified source
    tmp_path, st, run_dir = device
    assert boot_cli(st, tmp_path, {}).returncode == 0
    assert "__pycache__" not in os.listdir(run_dir)


@pytest.mark.parametrize("extra", ["sitecustomize.py", "__pycache__/app.cpython-311.pyc", "pkg/__init__.py",
                                   "emptydir/", "link"])
def test_any_extra_entry_rebuilds_the_run_dir(device, extra):
    tmp_path, st, run_dir = device
    path = os.path.join(run_dir, extra)
    if extra == "link":
        os.symlink(str(tmp_path), path)
    elif extra.endswith("/"):
        os.makedirs(path)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").write(b"x = 1\n")
    L = Launcher(st)
    d = L.boot()
    assert st.local_path(d.run_dir) == run_dir
    assert sorted(os.listdir(run_dir)) == BUNDLE
    assert os.listdir(str(tmp_path))                     # a symlink's target was not followed into


def test_a_run_dir_that_is_a_symlink_is_replaced_not_followed(device):
    tmp_path, st, run_dir = device
    elsewhere = tmp_path / "elsewhere"
    os.rename(run_dir, str(elsewhere))
    os.symlink(str(elsewhere), run_dir)
    d = Launcher(st).boot()
    assert not os.path.islink(st.local_path(d.run_dir))
    assert sorted(os.listdir(str(elsewhere))) == BUNDLE   # untouched


def test_contract_round_trip():
    env = contract.build_env("/st", "/st/boot/run/ab", "b", True, "1.2.3",
                             base={"PATH": "/bin", "LANG": "C", "HOME": "/root", "HEARTH_MODELS": "/m"})
    assert set(env) == set(contract.NAMES) | {"PATH", "LANG"}
    launch = contract.parse(env)
    assert (launch.storage, launch.run_dir, launch.slot, launch.trial, launch.version) == (
        "/st", "/st/boot/run/ab", "b", True, "1.2.3")
    assert contract.parse({}).slot is None and not contract.parse({}).trial
    assert contract.build_env("/st", "/r", "a", False, "1", base={})["PATH"]            # a default PATH


def test_planted_sitecustomize_in_the_run_dir_alone_does_not_run(device):
    tmp_path, st, run_dir = device
    marks = tmp_path / "marks"
    marks.mkdir()
    with open(os.path.join(run_dir, "sitecustomize.py"), "w") as f:
        f.write(PLANT % (str(marks), "sitecustomize", "sitecustomize"))
    r = boot_cli(st, tmp_path, {})
    assert r.returncode == 0, r.stderr
    assert os.listdir(str(marks)) == [] and json.loads(r.stdout)["genuine"]


def test_a_run_area_that_is_a_symlink_is_not_written_through(device):
    tmp_path, st, run_dir = device
    elsewhere = tmp_path / "elsewhere"
    os.rename(st.local_path(S.RUN), str(elsewhere))
    os.symlink(str(elsewhere), st.local_path(S.RUN))
    before = sorted(os.listdir(str(elsewhere)))
    d = Launcher(st).boot()
    assert not os.path.islink(st.local_path(S.RUN))
    assert sorted(os.listdir(st.local_path(d.run_dir))) == BUNDLE
    assert sorted(os.listdir(str(elsewhere))) == before
