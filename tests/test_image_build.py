"""`hearth image build` on the real firmware tree: real models, the native
extension per architecture, imgtool as the independent verifier, and the
image booted by the launcher on this machine."""
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from hearth.image import archive, manifest as manifest_mod, mcuboot
from hearth_tools.image import build, native
from hearth_tools.testing import testkit

from conftest import run_hearth  # noqa: E402

ROOT = build.ROOT




class Env:
    pass


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("build")
    e = Env()
    e.dir = d
    e.key = testkit.keygen(str(d / "key.pem"))
    e.other = testkit.keygen(str(d / "other.pem"))
    e.board = testkit.write_board(str(d), name="simtest", slot_bytes=8 << 20)
    e.out = str(d / "fw.img")
    rc, out, err = run_hearth("--json", "image", "build", "--board", e.board, "--version", "1.2.3+4",
                          "--key", e.key, "--security-counter", "7", "-o", e.out,
                          "--rollback-target", "1.0.0", "--calibration-version", "cal-3")
    assert rc == 0, err
    e.summary = json.loads(out)
    e.data = open(e.out, "rb").read()
    e.img = mcuboot.parse(e.data)
    e.manifest, e.entries = manifest_mod.open_bundle(e.img, e.data)
    return e


def test_imgtool_cli_verifies_the_image(env):
    r = subprocess.run(testkit.imgtool_cli() + ["verify", "-k", env.key, env.out], capture_output=True, text=True)
    assert r.returncode == 0 and "Image was correctly validated" in r.stdout, r.stdout + r.stderr
    assert "1.2.3+4" in r.stdout and env.img.digest.hex() in r.stdout
    r = subprocess.run(testkit.imgtool_cli() + ["verify", "-k", env.other, env.out], capture_output=True, text=True)
    assert "correctly validated" not in r.stdout
    r = subprocess.run(testkit.imgtool_cli() + ["dumpinfo", env.out], capture_output=True, text=True)
    assert r.returncode == 0 and "SEC_CNT" in r.stdout


def test_build_is_deterministic(env, tmp_path):
    # on a snapshot of the tree, so concurrent edits cannot change the inputs
    root = tmp_path / "tree"
    skip = shutil.ignore_patterns("__pycache__", "*.so", "*.pyc")
    for part in ("firmware", "native", "models"):
        if os.path.isdir(os.path.join(ROOT, part)):
            shutil.copytree(os.path.join(ROOT, part), root / part, ignore=skip)
    kw = dict(security_counter=7, root=str(root), rollback_target="1.0.0")
    # once with a fresh native cache (the compiler runs), once with the shared one
    a, sa = build.build_image(env.board, "1.2.3+4", env.key, native_cache=str(tmp_path / "cache"), **kw)
    b, sb = build.build_image(env.board, "1.2.3+4", env.key, native_cache=os.path.join(ROOT, "build", "native"), **kw)
    assert a == b and sa == sb
    c, _ = build.build_image(env.board, "1.2.3+5", env.key, native_cache=str(tmp_path / "cache"), **kw)
    assert c != a


def test_bundle_contents(env):
    m = env.manifest
    assert (m["board"], m["arch"], m["version"], m["security_counter"]) == ("simtest", native.host_arch(), "1.2.3+4", 7)
    assert (m["rollback_target"], m["calibration_version"], m["entry"]) == ("1.0.0", "cal-3", "hearth")
    import hearth
    assert m["hearth_version"] == hearth.__version__ and m["min_launcher_version"] == "1.0.0"
    assert env.img.security_counter == 7 and env.img.board == "simtest"
    files = archive.files(env.img.payload(env.data))
    assert files["board.toml"] == open(env.board, "rb").read()
    # every firmware module, as source and as an unchecked-hash pyc for this interpreter
    tag = sys.implementation.cache_tag
    sources = [p for p in files if p.startswith("hearth/") and p.endswith(".py")]
    assert "hearth/boot/launcher.py" in sources and "hearth/image/mcuboot.py" in sources
    for p in sources:
        d, n = p.rsplit("/", 1)
        pyc = files["%s/__pycache__/%s.%s.pyc" % (d, n[:-3], tag)]
        assert pyc[:4] == importlib.util.MAGIC_NUMBER and pyc[4:8] == b"\x01\x00\x00\x00"
        assert files[p] == open(os.path.join(ROOT, "firmware", p), "rb").read()
    # the native extension for this architecture
    so = files[m["native"]["file"]]
    assert native.elf_machine(so) == native.ELF_MACHINE[native.host_arch()]
    # models with their manifests and cards, as pinned by the model manifests
    model_manifests = sorted(n for n in os.listdir(os.path.join(ROOT, "models")) if n.endswith(".json"))
    assert len(m["models"]) == len([n for n in model_manifests
                                    if "model" in json.load(open(os.path.join(ROOT, "models", n)))])
    for model in m["models"]:
        pinned = json.loads(files[model["manifest"]])
        assert model["sha256"] == pinned["sha256"] == __import__("hashlib").sha256(files[model["file"]]).hexdigest()
        assert model["card"] is None or files[model["card"]].startswith(b"# Model card")
        if m["feature_schema"] and "per_model" not in m["feature_schema"]:
            assert pinned["features"] == m["feature_schema"]
    if m["models"]:
        assert m["quantization"].startswith("tflite ")


def test_payload_is_a_tar_that_peers_read(env, tmp_path):
    payload = env.img.payload(env.data)
    with tarfile.open(fileobj=io.BytesIO(payload)) as tf:
        names = tf.getnames()
    assert names[0] == "manifest.json" and names == [e.path for e in env.entries]
    if shutil.which("tar"):
        (tmp_path / "p.tar").write_bytes(payload)
        r = subprocess.run(["tar", "tf", str(tmp_path / "p.tar")], capture_output=True, text=True, check=True)
        assert r.stdout.split() == names


def test_info_and_verify_commands(env):
    rc, out, err = run_hearth("--json", "image", "info", env.out)
    assert rc == 0, err
    info = json.loads(out)
    assert (info["version"], info["board"], info["manifest"]["arch"]) == ("1.2.3+4", "simtest", native.host_arch())
    rc, out, err = run_hearth("image", "info", env.out)
    assert rc == 0 and "security counter: 7" in out
    rc, out, err = run_hearth("image", "verify", env.out, "--key", env.key, "--board", env.board)
    assert rc == 0 and ": OK (" in out
    rc, out, err = run_hearth("image", "verify", env.out, "--key", env.other)
    assert rc == 1 and "unknown-key" in err and len(err.strip().splitlines()) == 1
    other_board = testkit.write_board(str(env.dir), name="oven9000", slot_bytes=8 << 20)
    rc, out, err = run_hearth("image", "verify", env.out, "--key", env.key, "--board", other_board)
    assert rc == 1 and "wrong-board" in err
    trunc = env.dir / "trunc.img"
    trunc.write_bytes(env.data[:-10])
    rc, out, err = run_hearth("image", "info", str(trunc))
    assert rc == 1 and "truncated" in err


def test_build_errors_are_one_line(env, monkeypatch):
    cases = [
        (["--version", "1.2", "--key", env.key], "not X.Y.Z"),
        (["--version", "1.0.0", "--key", str(env.dir / "nokey.pem")], "not found"),
        (["--version", "1.0.0", "--key", env.key, "--rollback-target", "x"], "not X.Y.Z"),
        (["--version", "1.0.0", "--key", env.key, "--security-counter", "-1"], "security counter"),
    ]
    for extra, text in cases:
        rc, out, err = run_hearth("image", "build", "--board", env.board, "-o", str(env.dir / "x.img"), *extra)
        assert rc == 1 and text in err and len(err.strip().splitlines()) == 1, err
    rc, out, err = run_hearth("image", "build", "--board", "no-such-board", "--version", "1.0.0", "--key", env.key,
                          "-o", str(env.dir / "x.img"))
    assert rc == 1 and "no board 'no-such-board'" in err
    small = testkit.write_board(str(env.dir), name="tiny", slot_bytes=64 * 1024)
    with pytest.raises(build.BuildError, match="image needs 7[0-9]{4} bytes but board tiny's slots hold 65536"):
        testkit.small_image(env.key, small, files={"big.bin": bytes(70000)})
    # the size check is exact: an image fits a slot of exactly its size, not one byte less
    files = {"big.bin": bytes(30000)}
    size = len(testkit.small_image(env.key, small, files=files))
    for slot, fits in ((size, True), (size - 1, False)):
        d = env.dir / ("slot%d" % slot)
        d.mkdir()
        board = testkit.write_board(str(d), name="tiny", slot_bytes=slot)
        if fits:
            assert len(testkit.small_image(env.key, board, files=files)) == size
        else:
            with pytest.raises(build.BuildError, match="slots hold"):
                testkit.small_image(env.key, board, files=files)
    # a board whose cross compiler is missing is refused, naming the tool
    arm = testkit.write_board(str(env.dir), arch="aarch64")
    monkeypatch.setattr(native.shutil, "which", lambda name: None)
    rc, out, err = run_hearth("image", "build", "--board", arm, "--version", "1.0.0", "--key", env.key,
                          "-o", str(env.dir / "x.img"))
    assert rc == 1 and "needs aarch64-linux-gnu-gcc (apt-get install gcc-aarch64-linux-gnu)" in err


def test_launcher_boots_the_built_image(env, tmp_path):
    """The real bundle, installed and booted: its own hearth package and native
    extension run from the slot's run directory, and it confirms itself."""
    img = str(tmp_path / "selftest.img")
    rc, out, err = run_hearth("image", "build", "--board", env.board, "--version", "1.3.0", "--key", env.key,
                          "-o", img, "--entry", "hearth.boot.selftest")
    assert rc == 0, err
    storage = str(tmp_path / "storage")

    def boot_cli(*args):
        return subprocess.run([sys.executable, "-m", "hearth.boot"] + list(args) + ["--storage", storage],
                              capture_output=True, text=True, timeout=120, cwd=str(tmp_path))

    assert boot_cli("init", "--board", env.board, "--key", env.key).returncode == 0
    r = boot_cli("install", img)
    assert r.returncode == 0, r.stderr
    r = boot_cli("boot")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    run_dir = report["run_dir"]
    assert run_dir.startswith(os.path.join(storage, "boot", "run"))
    assert report["hearth_file"] == os.path.join(run_dir, "hearth", "__init__.py")
    assert report["native"] == os.path.join(run_dir, "hearth", "_native.abi3.so")
    assert (report["slot"], report["trial"], report["version"], report["health"]) == ("a", True, "1.3.0", "confirmed")
    s = json.loads(boot_cli("status", "--json").stdout)
    assert (s["active"], s["trial"], s["security_counter"]) == ("a", False, (1 << 24) | (3 << 16))


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["aarch64", "armv7"])
def test_cross_architecture_images(env, arch, tmp_path):
    board = testkit.write_board(str(tmp_path), name="board-" + arch, arch=arch, slot_bytes=8 << 20)
    out = str(tmp_path / "x.img")
    rc, o, err = run_hearth("--json", "image", "build", "--board", board, "--version", "2.0.0", "--key", env.key, "-o", out)
    assert rc == 0, err
    data = open(out, "rb").read()
    img = mcuboot.parse(data)
    m, _ = manifest_mod.open_bundle(img, data)
    so = archive.files(img.payload(data))[m["native"]["file"]]
    assert m["arch"] == img.arch == arch
    assert native.elf_machine(so) == native.ELF_MACHINE[arch]
    assert m["native"]["target"].startswith({"aarch64": "aarch64-", "armv7": "arm-"}[arch])
    # the module exports its init symbol and needs nothing but libc, libm and Python
    dyn = subprocess.run(["readelf", "--dyn-syms", "-d", "-W", "/dev/stdin"], input=so, capture_output=True)
    if dyn.returncode == 0:
        text = dyn.stdout.decode()
        assert "PyInit__native" in text
        needed = {line.split("[")[1].split("]")[0] for line in text.splitlines() if "(NEEDED)" in line}
        assert needed <= {"libc.so.6", "libm.so.6"}, needed


@pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "boards", "sim.toml")), reason="no boards/sim.toml yet")
def test_build_for_the_sim_board_by_name(env, tmp_path):
    rc, out, err = run_hearth("--json", "image", "build", "--board", "sim", "--version", "0.1.0", "--key", env.key,
                          "-o", str(tmp_path / "sim.img"))
    assert rc == 0, err
    assert json.loads(out)["board"] == "sim"
