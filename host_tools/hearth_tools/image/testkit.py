"""Helpers for tests and bring-up: keys through the real imgtool CLI, throwaway
board files, and small images (no firmware tree, no native build) that still
go through the real bundle, archive and imgtool signing code.
"""
import os
import shutil
import subprocess
import sys

from . import build


def imgtool_cli():
    """argv prefix that runs the imgtool command line of this environment."""
    exe = os.path.join(os.path.dirname(sys.executable), "imgtool")
    if os.path.exists(exe):
        return [exe]
    found = shutil.which("imgtool")
    return [found] if found else [sys.executable, "-m", "imgtool.main"]


def keygen(path):
    """A fresh ED25519 private key PEM, made by `imgtool keygen -t ed25519`."""
    subprocess.run(imgtool_cli() + ["keygen", "-t", "ed25519", "-k", path], check=True,
                   capture_output=True)
    return path


def write_board(directory, name="testboard", arch="host", slot_bytes=1 << 20, root="storage"):
    path = os.path.join(directory, "%s-%s.toml" % (name, arch))
    with open(path, "w", encoding="utf-8") as f:
        f.write('[board]\nname = "%s"\narch = "%s"\ndescription = "test board"\n\n'
                '[storage]\nroot = "%s"\nslot_bytes = %d\n' % (name, arch, root, slot_bytes))
    return path


APP = b'''"""A tiny application for launcher tests: reports where it runs from."""
import json, os, sys
print(json.dumps({"slot": os.environ.get("HEARTH_BOOT_SLOT"), "argv": sys.argv[1:]}))
'''


def small_image(key, board_path, version="1.0.0", security_counter=1, files=None, entry="app",
                **kwargs):
    """Bytes of a small signed image: board file, manifest and `files`
    (default: one app module plus some filler)."""
    if files is None:
        files = {"app.py": APP, "data/filler.bin": bytes(range(256)) * 8}
    data, _summary = build.build_image(
        board_path, version, key, security_counter=security_counter, models_dir="",
        include_firmware=False, with_native=False, extra_files=files, entry=entry, **kwargs)
    return data
