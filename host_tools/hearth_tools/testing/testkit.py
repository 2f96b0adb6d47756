"""Helpers for tests and bring-up: keys through the real imgtool CLI, throwaway
board files, and small images (no firmware tree, no native build) that still
go through the real bundle, archive and imgtool signing code.
"""
import os
import shutil
import subprocess
import sys

from hearth.boot import contract

from hearth_tools.image import build


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


_BOARD_COMMON = """[board]
name = "%(name)s"
arch = "%(arch)s"
kind = "%(kind)s"
description = "test board"

[audio]
source = "%(source)s"
rate = 16000
block_ms = 100
%(device)s
[thermal]
zone = "{storage}/sim/thermal_zone0/temp"
soc_limit_c = 80.0
soc_hysteresis_c = 5.0

[storage]
root = "%(root)s"
slot_bytes = %(slot_bytes)d

[memory]
budget_bytes = 134217728

[budgets]
capture_ms = 5.0
detect_ms = 40.0
alarm_ms = 10.0
decide_ms = 5.0
actuate_ms = 5.0

[detector]
models = []
"""

# A board of kind = "linux" also names its GPIO lines and sensors.
_BOARD_LINUX = """
[gpio]
chip = "/dev/gpiochip0"

[gpio.lines]
%(lines)s

[sensors]
cavity = "/sys/bus/iio/devices/iio:device0/in_temp_input"
"""


def write_board(directory, name="testboard", arch="host", slot_bytes=1 << 20, root="storage"):
    """A board file the strict loader (hearth.board) accepts. arch "host": a
    sim board (it runs on this machine); any other arch: a Linux board."""
    from hearth.board import GPIO_LINES, host_arch
    path = os.path.join(directory, "%s-%s.toml" % (name, arch))
    linux = arch != "host"
    fields = {"name": name, "arch": arch if linux else host_arch(), "kind": "linux" if linux else "sim",
              "source": "alsa" if linux else "sim", "device": 'device = "plughw:0,0"\n' if linux else "",
              "root": root, "slot_bytes": slot_bytes,
              "lines": "\n".join("%s = %d" % (n, i) for i, n in enumerate(GPIO_LINES))}
    text = _BOARD_COMMON % fields + (_BOARD_LINUX % fields if linux else "")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


APP = ('''"""A tiny application for launcher tests: reports where it runs from."""
import json, os, sys
print(json.dumps({"slot": os.environ.get(%r), "argv": sys.argv[1:]}))
''' % contract.BOOT_SLOT).encode()


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


# -- crafting hostile images that still carry a valid signature ---------------
def tlv_area(magic, tlvs):
    import struct
    body = b"".join(struct.pack("<HH", t, len(v)) + v for t, v in tlvs)
    return struct.pack("<HH", magic, 4 + len(body)) + body


def split(image):
    """(header + payload as a bytearray, [(type, value)] of the protected TLVs)."""
    from hearth.image import mcuboot
    img = mcuboot.parse(image)
    prot = [(t, v) for t, v in img.tlvs.items() if img.tlv_areas[t] == mcuboot.PROTECTED]
    return bytearray(image[:img.hdr_size + img.img_size]), prot


def resign(private_key, body, prot, extra_unprot=(), prot_size=None, keyhash_of=None, unprot=None):
    """Re-sign header+payload with protected TLVs `prot` the way imgtool does
    (SHA256, KEYHASH, ED25519). private_key: a cryptography Ed25519PrivateKey.
    Fixes the header's protected size unless prot_size is given."""
    import hashlib
    import struct
    from cryptography.hazmat.primitives import serialization
    from hearth.image import mcuboot
    prot_area = tlv_area(mcuboot.TLV_PROT_INFO_MAGIC, prot) if prot else b""
    body = bytearray(body)
    body[10:12] = struct.pack("<H", len(prot_area) if prot_size is None else prot_size)
    digest = hashlib.sha256(bytes(body) + prot_area).digest()
    der = (keyhash_of or private_key).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    tlvs = ([(mcuboot.TLV_SHA256, digest), (mcuboot.TLV_KEYHASH, hashlib.sha256(der).digest()),
             (mcuboot.TLV_ED25519, private_key.sign(digest))] if unprot is None else unprot(digest))
    return bytes(body) + prot_area + tlv_area(mcuboot.TLV_INFO_MAGIC, tlvs + list(extra_unprot))


def sign_payload(payload, key, board_path, version="1.0.0", security_counter=1):
    """Sign an arbitrary payload (hostile archives) with the real imgtool path."""
    from hearth.boot.device import load_board
    from hearth.image.manifest import parse_version
    from hearth_tools.image import sign
    b = load_board(board_path)
    return sign.sign(payload, key, parse_version(version), security_counter, b["name"], b["arch"])
