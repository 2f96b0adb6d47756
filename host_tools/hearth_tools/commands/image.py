"""`hearth image build|info|verify`: signed firmware images (MCUboot format)."""
import os

from ..errors import HearthError, UsageError

NAME = "image"
HELP = "build, inspect and verify signed firmware images"


def add_arguments(parser):
    sub = parser.add_subparsers(dest="image_cmd", metavar="ACTION")
    p = sub.add_parser("build", help="build and sign a firmware image for a board",
                       description="Bundle the firmware (Python, native extension for the board's arch, "
                                   "models, board file, manifest) into a deterministic archive and sign it "
                                   "as an MCUboot image with ED25519 (imgtool).")
    p.add_argument("--board", required=True, help="board name (boards/NAME.toml) or a board TOML path")
    p.add_argument("--version", required=True, help="image version X.Y.Z[+BUILD]")
    p.add_argument("--key", required=True, help="ED25519 private key PEM (imgtool keygen -t ed25519 -k KEY.pem)")
    p.add_argument("--security-counter", type=int,
                   help="anti-rollback counter (default: imgtool's auto, from the version)")
    p.add_argument("-o", "--output", required=True, help="output image file")
    p.add_argument("--models", help="models directory (default: models/)")
    p.add_argument("--rollback-target", help="oldest version a manual revert may return to")
    p.add_argument("--min-launcher", help="oldest launcher version that may install the image")
    p.add_argument("--calibration-version", help="calibration data version the image expects")
    p.add_argument("--entry", default="hearth", help="module the launcher runs (default: hearth)")
    p = sub.add_parser("info", help="show an image's header, TLVs and manifest (no key needed)")
    p.add_argument("image")
    p = sub.add_parser("verify", help="check an image's digest, signature and bundle against a key")
    p.add_argument("image")
    p.add_argument("--key", action="append", required=True, help="trusted key PEM (repeatable)")
    p.add_argument("--board", help="also check it is for this board (name or TOML path)")


def run(args, out):
    cmd = getattr(args, "image_cmd", None)
    if cmd == "build":
        return _build(args, out)
    if cmd == "info":
        return _info(args, out)
    if cmd == "verify":
        return _verify(args, out)
    raise UsageError("name an action: hearth image {build|info|verify}")


def _check_output(path):
    """-o mistakes as one line, before the build and without leaving a .tmp."""
    if os.path.isdir(path):
        raise UsageError("-o %s is a directory: give a file name, e.g. -o %s"
                         % (path, os.path.join(path, "fw.img")))
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError("-o %s: directory %s does not exist (create it first)" % (path, parent))
    if not os.access(parent, os.W_OK):
        raise UsageError("-o %s: directory %s is not writable" % (path, parent))


def _build(args, out):
    from ..image.build import BuildError, build_image
    from hearth.boot.launcher import LAUNCHER_VERSION
    _check_output(args.output)
    try:
        _data, s = build_image(args.board, args.version, args.key, out=args.output,
                               security_counter=args.security_counter, models_dir=args.models,
                               rollback_target=args.rollback_target,
                               min_launcher_version=args.min_launcher or LAUNCHER_VERSION,
                               calibration_version=args.calibration_version, entry=args.entry)
    except BuildError as e:
        raise HearthError(str(e)) from None
    except OSError as e:
        if e.filename is None or not str(e.filename).startswith(args.output):
            raise
        raise UsageError("cannot write -o %s: %s" % (args.output, e.strerror)) from None
    nat = s["native"]
    out.data(s, "%s: %s %s for %s (%s), %d bytes of %d-byte slot, %d files, models: %s, native: %s, "
             "security counter %d, sha256 %s" % (
                 s["output"], "image", s["version"], s["board"], s["arch"], s["size"], s["slot_bytes"],
                 s["files"], ", ".join(s["models"]) or "none",
                 nat["compiler"] if nat else "none", s["security_counter"], s["sha256"][:16]))


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError("cannot read %s: %s" % (path, e.strerror)) from None


def _info(args, out):
    from hearth.image import manifest as manifest_mod
    from hearth.image import mcuboot
    data = _read(args.image)
    try:
        img = mcuboot.parse(data)
        man, _entries = manifest_mod.open_bundle(img, data)
    except mcuboot.ImageError as e:
        raise HearthError("%s: %s" % (args.image, e)) from None
    d = img.describe()
    d["signature"] = "not checked (use hearth image verify --key KEY.pem)"
    d["manifest"] = {k: v for k, v in man.items() if k != "files"}
    d["manifest"]["files"] = len(man["files"])
    lines = [
        "image:    %s" % args.image,
        "version:  %s   security counter: %d" % (d["version"], d["security_counter"]),
        "board:    %s (%s)" % (man["board"], man["arch"]),
        "sizes:    header %d, payload %d, total %d bytes" % (d["header_size"], d["payload_size"], d["total_size"]),
        "sha256:   %s" % d["sha256"],
        "key hash: %s" % (d["key_hash"] or "-"),
        "tlvs:     %s" % ", ".join("%s(%s)" % (t["name"], t["area"][0]) for t in d["tlvs"]),
        "entry:    python -m %s   min launcher %s   rollback target %s" % (
            man["entry"], man["min_launcher_version"], man["rollback_target"] or "-"),
        "models:   %s" % (", ".join(m["name"] for m in man.get("models") or []) or "none"),
        "native:   %s" % ((man.get("native") or {}).get("compiler") or "none"),
        "files:    %d" % len(man["files"]),
    ]
    out.data(d, "\n".join(lines))


def _verify(args, out):
    from hearth.boot.device import load_board
    from hearth.boot.launcher import LAUNCHER_VERSION
    from hearth.image import manifest as manifest_mod
    from hearth.image import mcuboot
    data = _read(args.image)
    keys = []
    for path in args.key:
        try:
            keys.append(mcuboot.TrustedKey.from_pem(_read(path), os.path.basename(path)))
        except mcuboot.ImageError as e:
            raise UsageError(str(e)) from None
    board = None
    if args.board:
        from ..image.build import BuildError, find_board
        try:
            board = load_board(find_board(args.board))
        except (BuildError, ValueError) as e:
            raise UsageError(str(e)) from None
    try:
        img = mcuboot.verify(data, keys, max_size=board["slot_bytes"] if board else None)
        man, entries = manifest_mod.open_bundle(img, data)
        if board:
            manifest_mod.check_device(man, board["name"], board["arch"], LAUNCHER_VERSION)
    except mcuboot.ImageError as e:
        raise HearthError("%s: refused: %s" % (args.image, e)) from None
    out.data({"ok": True, "image": args.image, "version": img.version_str, "board": man["board"],
              "arch": man["arch"], "security_counter": img.security_counter, "files": len(entries),
              "sha256": img.digest.hex()},
             "%s: OK (%s for %s/%s, security counter %d, %d archive entries)"
             % (args.image, img.version_str, man["board"], man["arch"], img.security_counter, len(entries)))
