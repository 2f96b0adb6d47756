"""build_image(): the library behind `hearth image build`.

board file -> native module for its arch -> bundle archive -> imgtool signature
-> our own verifier reads the result back before it is written out.
"""
import os

from hearth.boot.device import load_board
from hearth.boot.launcher import LAUNCHER_VERSION
from hearth.image import manifest as manifest_mod
from hearth.image import mcuboot

from . import bundle, native, sign

ROOT = native.ROOT


class BuildError(Exception):
    pass


def find_board(ref, root=ROOT):
    """A board name (boards/NAME.toml) or a path to a board TOML."""
    if ref.endswith(".toml") or os.sep in ref:
        path = ref
    else:
        path = os.path.join(root, "boards", ref + ".toml")
    if not os.path.isfile(path):
        known = sorted(n[:-5] for n in os.listdir(os.path.join(root, "boards"))
                       if n.endswith(".toml")) if os.path.isdir(os.path.join(root, "boards")) else []
        raise BuildError("no board %r (known: %s)" % (ref, ", ".join(known) or "none"))
    return path


def build_image(board, version, key, out=None, security_counter=None, root=ROOT, models_dir=None,
                rollback_target=None, min_launcher_version=LAUNCHER_VERSION, calibration_version=None,
                entry="hearth", extra_files=None, include_firmware=True, with_native=True,
                native_cache=None, header_size=sign.HEADER_SIZE):
    """Build, sign and self-check an image. Returns (image bytes, summary dict).

    Writes `out` atomically when given. Raises BuildError with a one-line reason.
    """
    try:
        vtuple = manifest_mod.parse_version(version)
        if rollback_target is not None:
            manifest_mod.parse_version(rollback_target)
        manifest_mod.parse_version(min_launcher_version)
    except mcuboot.ImageError as e:
        raise BuildError(e.args[0]) from None
    board_path = find_board(board, root)
    try:
        b = load_board(board_path)
    except ValueError as e:
        raise BuildError(str(e)) from None
    with open(board_path, "rb") as f:
        board_bytes = f.read()
    if security_counter is None:
        security_counter = sign.auto_security_counter(vtuple)
    if not 0 <= int(security_counter) <= 0xFFFFFFFF:
        raise BuildError("security counter must be 0..4294967295")
    try:
        sign.load_key(key)                  # fail before the slow steps
    except sign.SignError as e:
        raise BuildError(str(e)) from None
    nat = None
    if with_native:
        try:
            nat = native.build(b["arch"], root=root, cache=native_cache)
        except native.NativeBuildError as e:
            raise BuildError(str(e)) from None
    if models_dir is None:
        models_dir = os.path.join(root, "models")
    try:
        payload, man = bundle.make_bundle(
            b, board_bytes, version, security_counter, native=nat, root=root, models_dir=models_dir,
            rollback_target=rollback_target, min_launcher_version=min_launcher_version,
            calibration_version=calibration_version, entry=entry, extra_files=extra_files,
            include_firmware=include_firmware)
    except (bundle.BundleError, ValueError) as e:
        raise BuildError(str(e)) from None
    # header + payload + protected TLVs + SHA256/KEYHASH/ED25519: what the slot must hold
    need = header_size + len(payload) + (4 + 8 + 4 + len(b["name"].encode()) + 4 + len(b["arch"])) + 144
    if need > b["slot_bytes"]:
        raise BuildError("image needs %d bytes but board %s's slots hold %d: drop models or raise "
                         "[storage] slot_bytes" % (need, b["name"], b["slot_bytes"]))
    try:
        data = sign.sign(payload, key, vtuple, security_counter, b["name"], b["arch"], header_size=header_size)
    except sign.SignError as e:
        raise BuildError(str(e)) from None
    # read it back with the device's parser: never ship what the device refuses
    try:
        img = mcuboot.parse(data, max_size=b["slot_bytes"])
        manifest_mod.open_bundle(img, data)
    except mcuboot.ImageError as e:                     # pragma: no cover - a builder bug
        raise BuildError("built image does not verify: %s" % e) from None
    if out:
        tmp = out + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, out)
    summary = {
        "output": out,
        "board": b["name"],
        "arch": b["arch"],
        "version": man["version"],
        "security_counter": int(security_counter),
        "size": len(data),
        "slot_bytes": b["slot_bytes"],
        "payload_size": len(payload),
        "files": len(man["files"]) + 1,
        "models": [m["name"] for m in man["models"]],
        "native": nat[1] if nat else None,
        "sha256": img.digest.hex(),
    }
    return data, summary
