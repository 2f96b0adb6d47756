"""The bundle manifest (manifest.json, first entry of the archive) and the checks
that tie it to the signed container and to the device.

Format 1 (written by hearth_tools.image.bundle):

    format                1
    board, arch           what the bundle was built for ("sim", "x86_64" ...)
    version               "X.Y.Z[+B]", equal to the MCUboot header version
    security_counter      equal to the SEC_CNT TLV
    min_launcher_version  oldest hearth.boot launcher that may install it
    hearth_version        the firmware package version (hearth.__version__)
    rollback_target       oldest firmware version this one's persistent data
                          (config, telemetry spool) stays readable by; a manual
                          revert to an older image is refused (null: any)
    entry                 module the launcher runs (python -m ENTRY)
    python, native        how the code was compiled (informational + checks)
    models                [{name, file, card, manifest, sha256}]
    feature_schema        audio front end the models expect
    quantization          tensor format of the models
    calibration_version   version of the on-device calibration data expected
    files                 {path: {sha256, size, mode}} for every other entry

Only the signed container makes these fields trustworthy: the launcher reads
the manifest after the signature verified, never before.
"""
import hashlib
import json
import re

from . import archive, mcuboot
from .errors import ImageError

MANIFEST_NAME = "manifest.json"
FORMAT = 1
MAX_MANIFEST = 1 << 20

_VERSION_RE = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,5})(?:\+(\d{1,10}))?$")
_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")


def parse_version(text):
    """"1.2.3+4" -> (1, 2, 3, 4), in MCUboot's field ranges."""
    m = _VERSION_RE.match(text) if isinstance(text, str) else None
    if not m:
        raise ImageError("manifest", "version %r is not X.Y.Z[+BUILD]" % (text,))
    v = (int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4) or 0))
    if v[0] > 255 or v[1] > 255 or v[2] > 65535 or v[3] > 0xFFFFFFFF:
        raise ImageError("manifest", "version %r is out of range (255.255.65535+4294967295)" % text)
    return v


def format_version(v):
    return mcuboot.format_version(v)


# field -> (types accepted, required). Extra fields are allowed (newer
# builders) but these must be right.
_FIELDS = {
    "format": ((int,), True),
    "board": ((str,), True),
    "arch": ((str,), True),
    "version": ((str,), True),
    "security_counter": ((int,), True),
    "min_launcher_version": ((str,), True),
    "rollback_target": ((str, type(None)), True),
    "entry": ((str,), True),
    "files": ((dict,), True),
    "hearth_version": ((str, type(None)), False),
    "python": ((dict,), False),
    "native": ((dict, type(None)), False),
    "models": ((list,), False),
    "feature_schema": ((dict, type(None)), False),
    "quantization": ((str, type(None)), False),
    "calibration_version": ((str, type(None)), False),
}


def load(raw):
    """Parse and validate manifest bytes. Returns a dict."""
    if len(raw) > MAX_MANIFEST:
        raise ImageError("manifest", "manifest larger than %d bytes" % MAX_MANIFEST)
    try:
        m = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ImageError("manifest", "manifest is not valid JSON: %s" % e) from None
    except RecursionError:
        raise ImageError("manifest", "manifest JSON is nested too deeply") from None
    if not isinstance(m, dict):
        raise ImageError("manifest", "manifest is not a JSON object")
    for key, (types, required) in _FIELDS.items():
        if key not in m:
            if required:
                raise ImageError("manifest", "manifest has no %r" % key)
            continue
        if not isinstance(m[key], types) or (isinstance(m[key], bool) and bool not in types):
            raise ImageError("manifest", "manifest field %r has the wrong type" % key)
    if m["format"] != FORMAT:
        raise ImageError("manifest", "manifest format %r is not supported (this launcher reads %d)"
                         % (m["format"], FORMAT))
    parse_version(m["version"])
    parse_version(m["min_launcher_version"])
    if m["rollback_target"] is not None:
        parse_version(m["rollback_target"])
    if not 0 <= m["security_counter"] <= 0xFFFFFFFF:
        raise ImageError("manifest", "security counter out of range")
    if not _MODULE_RE.match(m["entry"]):
        raise ImageError("manifest", "entry %r is not a module name" % m["entry"])
    for path, meta in m["files"].items():
        archive.check_path(path)
        if path == MANIFEST_NAME:
            raise ImageError("manifest", "manifest lists itself")
        if (not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str)
                or not _HEX64_RE.match(meta["sha256"]) or not isinstance(meta.get("size"), int)
                or isinstance(meta.get("size"), bool) or meta["size"] < 0):
            raise ImageError("manifest", "manifest entry for %r is malformed" % path)
    return m


def open_bundle(img, data):
    """Scan the payload of a verified image and check it against its manifest.

    Returns (manifest, entries). Every regular file must be listed with the
    right size and sha256, and every listed file must be there.
    """
    payload = memoryview(data)[img.payload_offset:img.payload_offset + img.payload_size]
    entries = archive.scan(payload)
    if not entries or entries[0].path != MANIFEST_NAME or entries[0].kind != archive.REGULAR:
        raise ImageError("manifest", "the archive does not start with %s" % MANIFEST_NAME)
    first = entries[0]
    m = load(payload[first.offset:first.offset + first.size])
    listed = dict(m["files"])
    for e in entries[1:]:
        if e.kind != archive.REGULAR:
            continue
        meta = listed.pop(e.path, None)
        if meta is None:
            raise ImageError("manifest", "archive file %r is not in the manifest" % e.path)
        if meta["size"] != e.size or hashlib.sha256(payload[e.offset:e.offset + e.size]).hexdigest() != meta["sha256"]:
            raise ImageError("manifest", "archive file %r does not match the manifest" % e.path)
    if listed:
        raise ImageError("manifest", "manifest lists %d missing file(s), e.g. %r"
                         % (len(listed), sorted(listed)[0]))
    check_image(img, m)
    return m, entries


def check_image(img, m):
    """The manifest and the signed container must say the same thing."""
    if parse_version(m["version"]) != img.version:
        raise ImageError("manifest", "manifest version %s differs from the image header %s"
                         % (m["version"], img.version_str))
    if m["security_counter"] != img.security_counter:
        raise ImageError("manifest", "manifest security counter %d differs from SEC_CNT %d"
                         % (m["security_counter"], img.security_counter))
    if img.board is not None and img.board != m["board"]:
        raise ImageError("manifest", "manifest board %r differs from the image's %r" % (m["board"], img.board))
    if img.arch is not None and img.arch != m["arch"]:
        raise ImageError("manifest", "manifest arch %r differs from the image's %r" % (m["arch"], img.arch))


def check_device(m, board, arch, launcher_version):
    """Is this bundle for this device and this launcher?"""
    if m["board"] != board:
        raise ImageError("wrong-board", "image is for board %r, this device is %r" % (m["board"], board))
    if m["arch"] != arch:
        raise ImageError("wrong-arch", "image is for %s, this device is %s" % (m["arch"], arch))
    need = parse_version(m["min_launcher_version"])
    if need > parse_version(launcher_version):
        raise ImageError("launcher-too-old", "image needs launcher %s, this device runs %s"
                         % (m["min_launcher_version"], launcher_version))
