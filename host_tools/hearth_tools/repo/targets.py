"""Target files of a release and the custom metadata a device chooses by.

A release (board + version) has up to three kinds of target:

    B/V/hearth-B-V.img            the signed image as built ("full")
    B/V/hearth-B-V.img.xz         the same, xz-compressed ("full", compression xz)
    B/V/from-OLDDIGEST16.delta    a delta from one base image ("delta")

Each target's custom field: {"hearth": {...what it is...}, "rollout": {...}}.
Only the signed targets metadata makes these trustworthy; the device still
has the launcher verify the image it builds from them.
"""
import hashlib
import lzma
import os

from .errors import RepoError
from .repository import TARGETS, write_atomic

XZ_PRESET = 9 | lzma.PRESET_EXTREME
# The decoder allocates the dictionary the stream declares, and preset 9's is
# 64 MiB: a dictionary no larger than the image compresses the same and keeps
# the device's decoder within hearth.ota.client.XZ_MEMLIMIT.
XZ_MAX_DICT = 8 << 20
NEW_ROLLOUT = {"rings": {}, "halted": False}     # added, offered to nobody until `hearth rollout set`


def read_image(path):
    """(bytes, Image, manifest, entries) of a signed image file; RepoError on a bad one."""
    from hearth.image import manifest as manifest_mod
    from hearth.image import mcuboot
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise RepoError("cannot read %s: %s" % (path, e.strerror), usage=True) from None
    try:
        img = mcuboot.parse(data)
        man, entries = manifest_mod.open_bundle(img, data)
    except mcuboot.ImageError as e:
        raise RepoError("%s is not a Hearth image: %s" % (path, e)) from None
    return data, img, man, entries


def _model_json(data, img, entries, name):
    import json
    for e in entries:
        if e.path == name:
            off = img.payload_offset + e.offset
            try:
                return json.loads(bytes(data[off:off + e.size]).decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return {}
    return {}


def model_metadata(data, img, man, entries):
    """Per model: what the device's model checks need. A field the image does
    not record is null, never guessed."""
    out = []
    for m in man.get("models") or []:
        mj = _model_json(data, img, entries, m.get("manifest")) if m.get("manifest") else {}
        out.append({
            "name": m.get("name"),
            "sha256": m.get("sha256"),
            "training_data_snapshot": mj.get("training_data_snapshot"),
            "feature_schema": man.get("feature_schema"),
            "quantization": man.get("quantization"),
            "calibration_version": man.get("calibration_version"),
        })
    return out


def image_metadata(data, img, man, entries):
    return {
        "board": man["board"],
        "arch": man["arch"],
        "version": man["version"],
        "security_counter": img.security_counter,
        "min_launcher_version": man["min_launcher_version"],
        "rollback_target": man["rollback_target"],
        "image_digest": img.digest.hex(),          # MCUboot digest: what the launcher records per slot
        "image_sha256": hashlib.sha256(data).hexdigest(),
        "image_length": len(data),
        "models": model_metadata(data, img, man, entries),
    }


def compress_xz(data):
    dict_size = min(XZ_MAX_DICT, max(1 << 16, 1 << (len(data) - 1).bit_length()))
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                         filters=[{"id": lzma.FILTER_LZMA2, "preset": XZ_PRESET, "dict_size": dict_size}])


def _store(repo, target_path, blob):
    """Write blob as public/targets/DIR/SHA256.NAME (consistent snapshot) and
    return its TargetFile."""
    from tuf.api.metadata import TargetFile
    tf = TargetFile.from_data(target_path, blob, ["sha256"])
    d, name = os.path.split(target_path)
    out = repo.file(TARGETS, d, "%s.%s" % (tf.hashes["sha256"], name))
    if not os.path.exists(out):          # named by its hash: an existing file is this one
        write_atomic(out, blob)
    return tf


def _delta_create():
    try:
        from hearth_tools.delta import create
    except ImportError:
        raise RepoError("delta support not installed") from None
    return create


def stage_release(repo, staged, image_path, delta_from=()):
    """Add the release's targets to `staged` (a targets dict). Returns their paths."""
    data, img, man, entries = read_image(image_path)
    meta = image_metadata(data, img, man, entries)
    board, version = meta["board"], meta["version"]
    prefix = "%s/%s/" % (board, version)
    for path, tf in staged.items():
        h = (tf.custom or {}).get("hearth") or {}
        if path.startswith(prefix) and h.get("image_digest") not in (None, meta["image_digest"]):
            raise RepoError("release %s/%s is already in the repository with a different image: "
                            "build a new version" % (board, version))
    rollout = next((dict(tf.custom["rollout"]) for p, tf in staged.items()
                    if p.startswith(prefix) and "rollout" in (tf.custom or {})), dict(NEW_ROLLOUT))
    create = _delta_create() if delta_from else None
    stem = "hearth-%s-%s" % (board, version)
    blobs = [(prefix + stem + ".img", data, dict(meta, kind="full", compression=None)),
             (prefix + stem + ".img.xz", compress_xz(data),
              dict(meta, kind="full", compression="xz"))]
    for base_path in delta_from:
        bdata, bimg, bman, _bentries = read_image(base_path)
        if (bman["board"], bman["arch"]) != (board, meta["arch"]):
            raise RepoError("--delta-from %s is for %s/%s, the image for %s/%s: give a base of the same board"
                            % (base_path, bman["board"], bman["arch"], board, meta["arch"]))
        if bimg.digest == img.digest:
            raise RepoError("--delta-from %s is the image itself: give an older image" % base_path)
        blobs.append((prefix + "from-%s.delta" % bimg.digest.hex()[:16], create(bdata, data),
                      dict(meta, kind="delta", compression=None, base_digest=bimg.digest.hex(),
                           base_version=bman["version"])))
    added = []
    for path, blob, h in blobs:
        tf = _store(repo, path, blob)
        tf.unrecognized_fields["custom"] = {"hearth": h, "rollout": rollout}
        staged[path] = tf
        added.append({"path": path, "kind": h["kind"], "compression": h["compression"], "length": len(blob),
                      "base_digest": h.get("base_digest")})
    return added
