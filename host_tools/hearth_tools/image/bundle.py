"""What goes into a firmware bundle, and its manifest.

    manifest.json                   first entry (see hearth.image.manifest)
    board.toml                      the board file the bundle was built for
    hearth/**.py                    the firmware package sources (minus the modules
                                    of other board kinds: _KIND_ONLY) ...
    hearth/**/__pycache__/*.pyc     ... compiled (unchecked-hash pycs: no mtimes)
    hearth/_native.abi3.so          the native extension for the board's arch
    models/NAME.{tflite,json,md}    models with their manifests and model cards

Reproducible: files sorted, fixed archive metadata, pycs compiled in a
subprocess with PYTHONHASHSEED=0 (set and frozenset constants are marshalled
in hash order), the native module built deterministically (native.py).

Only what runs on the device: test fixtures live in tests/ and in
hearth_tools.testing, never under firmware/hearth (tests/test_image_contents.py
checks every path of real images).
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

from hearth.image.manifest import MANIFEST_NAME, FORMAT, format_version, parse_version

from . import tarball

_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".o", ".tmp", ".swp", ".orig", ".rej")

# Firmware modules that run on one board kind only (bundle path: kind). An
# image for another kind leaves them out: a Linux board never imports the
# simulated oven (hearth.app imports it only for kind = "sim").
_KIND_ONLY = {"hearth/ports/sim.py": "sim"}

_COMPILE = r"""
import json, py_compile, sys
for src, out, dfile in json.load(sys.stdin):
    try:
        py_compile.compile(src, cfile=out, dfile=dfile, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError as e:
        sys.stderr.write("%s does not compile: %s\n" % (dfile, e.msg.strip().splitlines()[-1]))
        sys.exit(1)
"""


class BundleError(Exception):
    pass


def firmware_files(root, kind=None):
    """[(bundle path, file path)] of the hearth package for a board of `kind`
    ("sim", "linux"; None: every module), sorted."""
    base = os.path.join(root, "firmware", "hearth")
    out = []
    for dirpath, dirs, names in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for n in sorted(names):
            if n.startswith(".") or n.endswith(_SKIP_SUFFIXES):
                continue
            path = os.path.join(dirpath, n)
            rel = os.path.relpath(path, os.path.join(root, "firmware")).replace(os.sep, "/")
            if kind is not None and _KIND_ONLY.get(rel, kind) != kind:
                continue
            out.append((rel, path))
    return out


def compile_pycs(sources):
    """{bundle path of the pyc: bytes} for [(bundle path of the .py, file path)]."""
    tag = sys.implementation.cache_tag
    with tempfile.TemporaryDirectory(prefix="hearth-pyc-") as tmp:
        jobs, outs = [], {}
        for i, (rel, path) in enumerate(sources):
            d, name = rel.rsplit("/", 1)
            pyc_rel = "%s/__pycache__/%s.%s.pyc" % (d, name[:-3], tag)
            out = os.path.join(tmp, "%d.pyc" % i)
            jobs.append((path, out, rel))
            outs[pyc_rel] = out
        env = dict(os.environ, PYTHONHASHSEED="0")
        r = subprocess.run([sys.executable, "-c", _COMPILE], input=json.dumps(jobs), text=True,
                           capture_output=True, env=env)
        if r.returncode:
            raise BundleError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "compiling Python failed")
        result = {}
        for pyc_rel, out in outs.items():
            with open(out, "rb") as f:
                result[pyc_rel] = f.read()
        return result


def model_files(models_dir):
    """(files {bundle path: bytes}, models list, feature schema, quantization)."""
    files, models, schemas, quant = {}, [], {}, set()
    if not models_dir or not os.path.isdir(models_dir):
        return files, models, None, None
    for name in sorted(os.listdir(models_dir)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(models_dir, name)
        try:
            with open(path, "rb") as f:
                raw = f.read()
            man = json.loads(raw)
        except (OSError, ValueError) as e:
            raise BundleError("model manifest %s is unreadable: %s" % (path, e)) from None
        if not isinstance(man, dict) or not isinstance(man.get("model"), str):
            continue                          # not a model manifest
        model_path = os.path.join(models_dir, man["model"])
        if not os.path.isfile(model_path):
            raise BundleError("model %s is missing (%s): run `make models`" % (man["model"], path))
        with open(model_path, "rb") as f:
            model = f.read()
        stem = name[:-5]
        files["models/" + name] = raw
        files["models/" + man["model"]] = model
        card = os.path.join(models_dir, stem + ".md")
        entry = {"name": man.get("name", stem), "file": "models/" + man["model"],
                 "manifest": "models/" + name, "sha256": hashlib.sha256(model).hexdigest(), "card": None,
                 "source": man.get("source") if isinstance(man.get("source"), dict) else None}
        if os.path.isfile(card):
            with open(card, "rb") as f:
                files["models/" + stem + ".md"] = f.read()
            entry["card"] = "models/" + stem + ".md"
        models.append(entry)
        if isinstance(man.get("features"), dict):
            schemas[entry["name"]] = man["features"]
        io = man.get("io") if isinstance(man.get("io"), dict) else {}
        quant.add("%s->%s" % (io.get("input_dtype", "?"), io.get("output_dtype", "?")))
    distinct = {json.dumps(s, sort_keys=True) for s in schemas.values()}
    schema = (json.loads(distinct.pop()) if len(distinct) == 1 else {"per_model": schemas}) if schemas else None
    quantization = ("tflite " + ",".join(sorted(quant))) if quant else None
    return files, models, schema, quantization


def _package_version(init_py):
    m = re.search(rb'^__version__\s*=\s*["\']([^"\']+)["\']', init_py, re.M)
    return m.group(1).decode() if m else None


def make_bundle(board, board_bytes, version, security_counter, native=None, root=None, models_dir=None,
                rollback_target=None, min_launcher_version="1.0.0", calibration_version=None,
                entry="hearth", extra_files=None, include_firmware=True):
    """Build the archive. Returns (archive bytes, manifest dict).

    board: dict from hearth.boot.device.load_board; native: (path, info) or None.
    extra_files: {bundle path: bytes} added as they are (tests, site files).
    """
    version = format_version(parse_version(version))
    files = {"board.toml": board_bytes}
    if include_firmware:
        sources = firmware_files(root, board["kind"])     # the strict loader's reading (hearth.board)
        for rel, path in sources:
            with open(path, "rb") as f:
                files[rel] = f.read()
        files.update(compile_pycs([(rel, p) for rel, p in sources if rel.endswith(".py")]))
    native_meta = None
    if native is not None:
        path, info = native
        with open(path, "rb") as f:
            files[info["file"]] = f.read()
        native_meta = dict(info)
    mfiles, models, schema, quantization = model_files(models_dir)
    files.update(mfiles)
    for rel, data in (extra_files or {}).items():
        files[rel] = bytes(data)
    modes = {rel: 0o644 for rel in files}
    manifest = {
        "format": FORMAT,
        "board": board["name"],
        "arch": board["arch"],
        "version": version,
        "security_counter": int(security_counter),
        "min_launcher_version": min_launcher_version,
        "rollback_target": rollback_target,
        "entry": entry,
        "hearth_version": _package_version(files.get("hearth/__init__.py", b"")),
        "python": {"cache_tag": sys.implementation.cache_tag, "pyc": "unchecked-hash"},
        "native": native_meta,
        "models": models,
        "feature_schema": schema,
        "quantization": quantization,
        "calibration_version": calibration_version,
        "files": {rel: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "mode": modes[rel]}
                  for rel, data in sorted(files.items())},
    }
    raw_manifest = (json.dumps(manifest, sort_keys=True, indent=1) + "\n").encode()
    entries = [(MANIFEST_NAME, raw_manifest, 0o644)]
    entries += [(rel, files[rel], modes[rel]) for rel in sorted(files)]
    return tarball.write(entries), manifest
