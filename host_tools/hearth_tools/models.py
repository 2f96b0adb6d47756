"""Pinned models: import them from their source package and verify their hashes.

A manifest models/<name>.json (microWakeWord v2 fields plus provenance) names
where the model comes from; `import_models()` copies the file out of the
installed package into models/<name>.tflite after checking its sha256, so the
rest of Hearth never loads an unpinned model. Command line (`python -m
hearth_tools.models ARGS` is the same):
    hearth models import      # what `make models` runs
    hearth models verify
"""
import hashlib
import importlib.util
import json
import os
import sys

from .errors import HearthError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS_DIR = os.path.join(ROOT, "models")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def manifests(models_dir=MODELS_DIR):
    """All model manifests (dicts with their own path under '_path')."""
    out = []
    for name in sorted(os.listdir(models_dir)):
        if name.endswith(".json"):
            path = os.path.join(models_dir, name)
            with open(path, encoding="utf-8") as f:
                try:
                    m = json.load(f)
                except ValueError as e:
                    raise HearthError("%s: invalid JSON (%s)" % (path, e))
            m["_path"] = path
            out.append(m)
    return out


def source_path(manifest):
    """Where the pinned file lives inside its installed source package."""
    src = manifest.get("source") or {}
    pkg, rel = src.get("package_module"), src.get("path")
    if not pkg or not rel:
        raise HearthError("%s: manifest has no source.package_module/source.path" % manifest["_path"])
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        raise HearthError("package %s (%s==%s) is not installed: run `make venv`" % (
            pkg, src.get("package"), src.get("version")))
    return os.path.join(list(spec.submodule_search_locations)[0], rel)


def model_path(manifest):
    return os.path.join(os.path.dirname(manifest["_path"]), manifest["model"])


def import_model(manifest):
    """Copy one model out of its package, refusing any hash mismatch."""
    src = source_path(manifest)
    if not os.path.exists(src):
        raise HearthError("%s not found: is %s==%s installed?" % (
            src, manifest["source"]["package"], manifest["source"]["version"]))
    got = sha256_file(src)
    if got != manifest["sha256"]:
        raise HearthError("%s: sha256 %s does not match the pinned %s (wrong package version?)" % (
            src, got, manifest["sha256"]))
    dst = model_path(manifest)
    if os.path.exists(dst) and sha256_file(dst) == got:
        return dst
    tmp = dst + ".tmp"
    with open(src, "rb") as f, open(tmp, "wb") as g:
        g.write(f.read())
        g.flush()
        os.fsync(g.fileno())
    os.replace(tmp, dst)
    return dst


def verify_model(manifest):
    path = model_path(manifest)
    if not os.path.exists(path):
        raise HearthError("%s missing: run `make models`" % path)
    got = sha256_file(path)
    if got != manifest["sha256"]:
        raise HearthError("%s: sha256 %s does not match the pinned %s" % (path, got, manifest["sha256"]))
    return path


def import_models(models_dir=MODELS_DIR):
    return [import_model(m) for m in manifests(models_dir) if m.get("source")]


if __name__ == "__main__":
    from .cli import run_as
    sys.exit(run_as("models"))
