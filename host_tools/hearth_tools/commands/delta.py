"""`hearth delta create|apply|info`: delta patches between two files (docs/DELTA.md)."""
import os
import time

from ..errors import HearthError, UsageError

NAME = "delta"
HELP = "make and apply delta patches (small updates between two images or any two files)"


def add_arguments(parser):
    sub = parser.add_subparsers(dest="delta_cmd", metavar="ACTION")
    p = sub.add_parser("create", help="make a patch that turns OLD into NEW",
                       description="Make a Hearth delta patch. Two Hearth images get the structure-aware "
                                   "encoding (archive entries matched by path and content); any other files "
                                   "the plain one. The patch is checked by applying it before it is written.")
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("-o", "--output", required=True, help="patch file to write")
    p = sub.add_parser("apply", help="apply PATCH to OLD, writing NEW (byte for byte)",
                       description="Apply a Hearth delta patch: the patch is read once, OLD by offset; the "
                                   "result is checked against the SHA-256 the patch declares.")
    p.add_argument("old")
    p.add_argument("patch")
    p.add_argument("-o", "--output", required=True, help="result file to write")
    p = sub.add_parser("info", help="show a patch's header: base and result sizes and SHA-256")
    p.add_argument("patch")


def run(args, out):
    cmd = getattr(args, "delta_cmd", None)
    if cmd == "create":
        return _create(args, out)
    if cmd == "apply":
        return _apply(args, out)
    if cmd == "info":
        return _info(args, out)
    raise UsageError("name an action: hearth delta {create|apply|info}")


def _check_in(*paths):
    for p in paths:
        if not os.path.isfile(p):
            raise UsageError("%s: %s" % (p, "is a directory, give a file" if os.path.isdir(p) else "no such file"))
        if not os.access(p, os.R_OK):
            raise UsageError("%s: not readable" % p)


def _check_out(path):
    if os.path.isdir(path):
        raise UsageError("-o %s is a directory: give a file name" % path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError("-o %s: directory %s does not exist (create it first)" % (path, parent))


def _create(args, out):
    from .. import delta
    _check_in(args.old, args.new)
    _check_out(args.output)
    t = time.perf_counter()
    r = delta.create_file(args.old, args.new, args.output)
    r["seconds"] = round(time.perf_counter() - t, 3)
    out.data(r, "%s: %d bytes (%.2f%% of NEW, %s encoding), %s -> %s" % (
        args.output, r["size"], 100.0 * r["ratio"], r["kind"], args.old, args.new))


def _apply(args, out):
    from hearth import delta
    _check_in(args.old, args.patch)
    _check_out(args.output)
    t = time.perf_counter()
    try:
        s = delta.apply_file(args.old, args.patch, args.output)
    except delta.DeltaError as e:
        raise HearthError("%s: refused: %s" % (args.patch, e)) from None
    r = dict(s.describe(), output=args.output, seconds=round(time.perf_counter() - t, 3))
    out.data(r, "%s: %d bytes, sha256 %s (verified)" % (args.output, s.result_size, s.result_sha256[:16]))


def _info(args, out):
    from hearth import delta
    _check_in(args.patch)
    try:
        with open(args.patch, "rb") as f:
            h = delta.read_header(f)
    except delta.DeltaError as e:
        raise HearthError("%s: %s" % (args.patch, e)) from None
    d = dict(h.describe(), size=os.path.getsize(args.patch))
    out.data(d, "%s: format %d, %s, base %d bytes sha256 %s..., result %d bytes sha256 %s..., %d segments" % (
        args.patch, d["format"], d["kind"], d["base_size"], d["base_sha256"][:16], d["result_size"],
        d["result_sha256"][:16], d["segments"]))
