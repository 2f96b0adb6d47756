"""A firmware image holds what runs on the device and nothing else.

Real images (`build.build_image` on the real firmware tree, real models, the
native extension) for a Linux board and for the sim board; every bundle path
must match a row of the table below, and every file the device needs must be
there. Test fixtures (tests/, hearth_tools.testing, the power-cut disk
model) and modules for another board kind must not be.
"""
import json
import os
import re
import sys

import pytest

from hearth.image import archive, mcuboot
from hearth_tools.image import build, native
from hearth_tools.testing import testkit

ROOT = build.ROOT
TAG = re.escape(sys.implementation.cache_tag)
# hearth's device subpackages (one level deep); a new one needs a decision here
SUBPACKAGES = "boot|console|core|delta|image|ota|ports|smp|telemetry"
_MOD = r"(?:(?:%s)/)?[a-z_]+" % SUBPACKAGES    # hearth's subpackages, one level deep

# Every path in a bundle matches exactly one row: (what it is, pattern).
ALLOWED = [
    ("the manifest", r"manifest\.json"),
    ("the board file", r"board\.toml"),
    ("a firmware source", r"hearth/%s\.py" % _MOD),
    ("its unchecked-hash pyc", r"hearth/(?:(?:%s)/)?__pycache__/[a-z_]+\.%s\.pyc" % (SUBPACKAGES, TAG)),
    ("the SMP groups", r"hearth/smp/groups/(?:__pycache__/[a-z_]+\.%s\.pyc|[a-z_]+\.py)" % TAG),
    ("the native extension", r"hearth/_native\.abi3\.so"),
    ("a model, its manifest or its card", r"models/[a-z0-9_]+\.(?:tflite|json|md)"),
]

# Never in an image, whatever the patterns allow: test fixtures and host tools.
FORBIDDEN = re.compile(r"(?:^|/)(?:tests?|testing|conftest|testkit|simdisk|hearth_tools)(?:/|\.|_|$)")

# Firmware modules that run on one board kind only (the module, the kind).
KIND_ONLY = {"hearth/ports/sim.py": "sim"}


def _pyc(src):
    d, n = src.rsplit("/", 1)
    return "%s/__pycache__/%s.%s.pyc" % (d, n[:-3], sys.implementation.cache_tag)


def expected_paths(kind, native_file):
    """What the image for a board of `kind` must hold, from the source tree."""
    want = {"manifest.json", "board.toml", native_file}
    base = os.path.join(ROOT, "firmware")
    for dirpath, dirs, names in os.walk(os.path.join(base, "hearth")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for n in names:
            rel = os.path.relpath(os.path.join(dirpath, n), base).replace(os.sep, "/")
            if n.endswith(".py") and KIND_ONLY.get(rel, kind) == kind:
                want |= {rel, _pyc(rel)}
    models = os.path.join(ROOT, "models")
    for n in os.listdir(models):
        if n.endswith(".json") and "model" in json.load(open(os.path.join(models, n))):
            stem = n[:-5]
            want |= {"models/" + n, "models/" + json.load(open(os.path.join(models, n)))["model"]}
            if os.path.exists(os.path.join(models, stem + ".md")):
                want.add("models/%s.md" % stem)
    return want


def check_contents(paths, want):
    """Messages naming the unexpected and the missing paths (empty: all good)."""
    problems = []
    for p in sorted(paths):
        rows = [what for what, pat in ALLOWED if re.fullmatch(pat, p)]
        if FORBIDDEN.search(p):
            problems.append("unexpected %s: a test fixture or host tool" % p)
        elif len(rows) != 1:
            problems.append("unexpected %s: matches %s of the allowed rows (a new device module "
                            "directory needs a row in ALLOWED)" % (p, rows or "none"))
        elif p not in want:
            problems.append("unexpected %s (%s): not in the device's file list" % (p, rows[0]))
    problems += ["missing %s" % p for p in sorted(set(want) - set(paths))]
    return problems


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return testkit.keygen(str(tmp_path_factory.mktemp("key") / "key.pem"))


@pytest.mark.parametrize("kind", ["linux", "sim"])
def test_image_holds_exactly_the_device_files(kind, key, tmp_path):
    arch = native.host_arch() if kind == "linux" else "host"
    board = testkit.write_board(str(tmp_path), name="contents", arch=arch, slot_bytes=8 << 20)
    data, _summary = build.build_image(board, "1.0.0", key, security_counter=1)
    img = mcuboot.parse(data)
    files = archive.files(img.payload(data))
    man = json.loads(files["manifest.json"]) if "manifest.json" in files else None
    paths = set(files) | {"manifest.json"}
    assert man is not None and set(man["files"]) | {"manifest.json"} == paths
    problems = check_contents(paths, expected_paths(kind, man["native"]["file"]))
    assert not problems, "image for a %s board:\n  " % kind + "\n  ".join(problems)
    assert ("hearth/ports/sim.py" in paths) == (kind == "sim")
    assert native.elf_machine(files[man["native"]["file"]]) == native.ELF_MACHINE[native.host_arch()]


def test_the_check_names_what_is_wrong():
    """The table refuses fixtures even where a pattern would allow them, and
    reports what is missing."""
    want = {"manifest.json", "board.toml", "hearth/app.py", _pyc("hearth/app.py")}
    got = (want - {_pyc("hearth/app.py")}) | {"hearth/boot/simdisk.py", "tests/test_boot.py",
                                                "hearth/tool.py", "notes.txt"}
    assert check_contents(got, want) == [
        "unexpected hearth/boot/simdisk.py: a test fixture or host tool",
        "unexpected hearth/tool.py (a firmware source): not in the device's file list",
        "unexpected notes.txt: matches none of the allowed rows (a new device module directory "
        "needs a row in ALLOWED)",
        "unexpected tests/test_boot.py: a test fixture or host tool",
        "missing " + _pyc("hearth/app.py"),
    ]
    assert check_contents(want, want) == []
