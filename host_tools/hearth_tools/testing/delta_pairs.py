"""Update pairs for the delta tests: Hearth images built from this tree with
small changes (through the real bundle, archive and imgtool signing code),
and seeded synthetic binaries."""
import os
import random
import shutil

from ..image import build
from . import testkit

PY_EDIT = ("CONTROL_PERIOD_S = 1.0", "CONTROL_PERIOD_S = 0.5    # quicker control turns")


def tree_copy(dst, root=build.ROOT):
    """The firmware sources of `root` (no native build, no models) under dst."""
    shutil.copytree(os.path.join(root, "firmware"), os.path.join(dst, "firmware"), symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc"))
    return dst


def firmware_pair(directory, key, board_path, slot_bytes=None):
    """(old image, new image): the firmware tree, then the same tree with a Python
    fix in hearth/app.py, a changed data file and a new one (versions 1.0.0 -> 1.0.1)."""
    old_root = tree_copy(os.path.join(directory, "old"))
    new_root = tree_copy(os.path.join(directory, "new"))
    app = os.path.join(new_root, "firmware", "hearth", "app.py")
    with open(app, encoding="utf-8") as f:
        text = f.read()
    if PY_EDIT[0] not in text:
        raise RuntimeError("hearth/app.py changed: update hearth_tools.testing.delta_pairs.PY_EDIT")
    with open(app, "w", encoding="utf-8") as f:
        f.write(text.replace(PY_EDIT[0], PY_EDIT[1]))
    rng = random.Random(11)
    blob = bytes(rng.getrandbits(8) for _ in range(20000))
    blob2 = bytearray(blob)
    for _ in range(40):
        blob2[rng.randrange(len(blob2))] = rng.getrandbits(8)
    common = {"models_dir": "", "with_native": False, "entry": "hearth"}
    old, _ = build.build_image(board_path, "1.0.0", key, security_counter=1, root=old_root,
                               extra_files={"data/cal.bin": blob}, **common)
    new, _ = build.build_image(board_path, "1.0.1", key, security_counter=2, root=new_root,
                               extra_files={"data/cal.bin": bytes(blob2), "data/notes.txt": b"1.0.1\n"}, **common)
    return old, new


def small_pair(key, board_path):
    """Two small images (testkit.small_image), 1.0.0 -> 1.1.0."""
    v1 = testkit.small_image(key, board_path, "1.0.0", 1)
    v2 = testkit.small_image(key, board_path, "1.1.0", 2, files={
        "app.py": testkit.APP + b"# v2\n", "data/filler.bin": bytes(range(255, -1, -1)) * 12,
        "data/new.txt": b"added in 1.1.0\n"})
    return v1, v2


def synthetic(size, seed, edits=64, insert=256):
    """(old, new): `size` seeded random bytes, then the same with `edits`
    scattered byte changes and `edits // 4` inserted runs."""
    rng = random.Random(seed)
    old = rng.randbytes(size)
    new = bytearray(old)
    for _ in range(edits):
        new[rng.randrange(len(new))] = rng.getrandbits(8)
    for _ in range(max(1, edits // 4)):
        at = rng.randrange(len(new))
        new[at:at] = rng.randbytes(rng.randrange(1, insert))
    return old, bytes(new)


def synthetic_patch(size, seed, edits=64):
    """(old, new, patch) for a large synthetic pair, the patch made from the
    known edits (COPY runs + literals) instead of by the matcher, so a 64 MiB
    pair costs seconds: for measuring the applier, not the matcher."""
    from ..delta import _assemble, _segments
    from hearth.delta import format as F
    rng = random.Random(seed)
    old = rng.randbytes(size)
    spots = sorted(rng.sample(range(size - 64), edits))
    ops, parts, pos = [], [], 0
    for at in spots:
        if at < pos:
            continue
        ops.append(("C", pos, at - pos))
        parts.append(old[pos:at])
        lit = rng.randbytes(rng.randrange(1, 48))
        ops.append(("L", lit))
        parts.append(lit)
        pos = at + len(lit)
    ops.append(("C", pos, size - pos))
    parts.append(old[pos:])
    new = b"".join(parts)
    return old, new, _assemble(F.KIND_PLAIN, old, new, _segments(ops, old, new), 0)
