"""python -m hearth.ota: the OTA client, for device debugging and scripts.

    init ROOT.json [--device-id ID] [--ring NAME]   trust this root; remember id, ring, URL
    refresh                                         fetch and verify the newest metadata
    check                                           which target this device would take now
    download TARGET                                 fetch a target, continuing a partial (length and hashes checked)
    install                                         install the downloaded target (a trial boot)
    update                                          check + download + install, outcome recorded
    status [--json]                                 last outcomes and trusted metadata versions

--storage DIR (default $HEARTH_STORAGE), --url URL (the served public/
directory; default: the one init recorded), --json and --debug go before or
after the command. Exit codes (hearth.exitcodes): 0 ok, 1 refused (reason on
stderr), 2 usage, 70 internal error.
"""
import json
import os
import sys

from .. import cliargs, exitcodes
from ..boot import contract

PROG = "hearth.ota"

GLOBAL_OPTIONS = (
    (("--storage",), {"metavar": "DIR", "default": None, "help": "storage directory (default $HEARTH_STORAGE)"}),
    (("--url",), {"metavar": "URL", "default": None, "help": "repository base URL (the served public/)"}),
    (("--json",), {"action": "store_true", "help": "print results (and a failure) as JSON"}),
    (("--debug",), {"action": "store_true", "help": "show tracebacks"}),
)


class _Usage(Exception):
    """A mistake in the command's arguments or files: exit 2."""


def _parser():
    common = cliargs.sub_options(GLOBAL_OPTIONS)
    p = cliargs.Parser(prog="python -m hearth.ota", description=__doc__.split("\n")[0])
    for flags, kw in GLOBAL_OPTIONS:
        p.add_argument(*flags, **kw)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    s = sub.add_parser("init", parents=[common], help="trust a root.json; record device id, ring and URL")
    s.add_argument("root", help="the repository's root.json (hearth repo init prints where)")
    s.add_argument("--device-id", help="stable device id for rollout buckets (default: a random one)")
    s.add_argument("--ring", default="all", help="rollout ring this device is in (default: all)")
    s.add_argument("--force", action="store_true", help="replace an existing OTA provisioning")
    for name, what in (("refresh", "fetch and verify the newest metadata"),
                       ("check", "show the target this device would take"),
                       ("install", "install the downloaded target"),
                       ("update", "check, download and install; record the outcome"),
                       ("status", "last outcomes and trusted metadata versions")):
        sub.add_parser(name, parents=[common], help=what)
    s = sub.add_parser("download", parents=[common], help="fetch one target")
    s.add_argument("target", help="target path, as check prints it")
    return p


def _print(args, obj, text):
    sys.stdout.write((json.dumps(obj, sort_keys=True, default=str) if args.json else text) + "\n")
    sys.stdout.flush()


def _fail(as_json, label, message, code):
    return cliargs.fail(PROG, as_json, label, message, code)


def main(argv=None):
    return cliargs.entry(_main, argv)


def _main(argv):
    args = cliargs.parse_command(_parser, argv, _fail)
    if args is None:
        return exitcodes.USAGE
    if args.storage is None:
        args.storage = os.environ.get(contract.STORAGE)
    if not args.storage:
        return _fail(args.json, "error", "give --storage DIR (or set HEARTH_STORAGE)", exitcodes.USAGE)
    from ..boot.state import StateError
    from ..image.errors import ImageError
    from .client import OtaError
    refused = (OtaError, ImageError, StateError) + _tuf_errors()
    return cliargs.guarded(lambda: _command(args), lambda label, msg, code: _fail(args.json, label, msg, code),
                           args.debug, [(_Usage, "error", exitcodes.USAGE),
                                        (refused, "refused", exitcodes.FAILURE)])


def _tuf_errors():
    from tuf.api import exceptions
    return (exceptions.RepositoryError, exceptions.DownloadError)


def _command(args):
    from .client import Client
    c = Client(args.storage, url=args.url)
    if args.cmd == "init":
        try:
            with open(args.root, "rb") as f:
                root = f.read()
        except OSError as e:
            raise _Usage("cannot read %s: %s" % (args.root, e.strerror)) from None
        r = c.init(root, device_id=args.device_id, ring=args.ring, url=args.url, force=args.force)
        _print(args, r, "trusting root v%d; device %s in ring %s; repository %s"
               % (r["root_version"], r["device_id"], r["ring"], r["url"] or "(give --url later)"))
    elif args.cmd == "refresh":
        c.refresh()
        s = c.status()
        _print(args, s, "metadata: root v%s, timestamp v%s, snapshot v%s, targets v%s" % (
            s.get("root_version"), s.get("timestamp_version"), s.get("snapshot_version"), s.get("targets_version")))
    elif args.cmd == "check":
        path, meta, why = c.check()
        _print(args, {"target": path, "meta": meta, "why": why},
               ("take %s (%s)" % (path, why)) if path else "nothing to take: %s" % why)
    elif args.cmd == "download":
        dl, h, info = c.download(args.target)
        _print(args, {"target": args.target, "length": info.length, "kind": h.get("kind"),
                      "resumes": dl.stats["resumes"], "received": dl.stats["received"]},
               "downloaded %s (%d bytes, verified; %d fetched now, %d resumes)"
               % (args.target, info.length, dl.stats["received"], dl.stats["resumes"]))
    elif args.cmd == "install":
        r = c.install()
        _print(args, r, "installed %s (%s) in slot %s; it boots next as a trial" % (r["version"], r["kind"], r["slot"]))
    elif args.cmd == "update":
        r = c.update()
        _print(args, r, "%s%s" % (r["event"], (": " + r["reason"]) if r.get("reason") else
                                   (" %s" % r.get("version") if r.get("version") else "")))
        return exitcodes.FAILURE if r["event"] == "refused" else exitcodes.OK
    elif args.cmd == "status":
        s = c.status()
        last = s.get("last_outcome") or {}
        _print(args, s, "\n".join([
            "initialized: %s" % ("yes, device %s ring %s" % (s["config"]["device_id"], s["config"]["ring"])
                                 if s["initialized"] else "no"),
            "metadata: root v%s, timestamp v%s" % (s.get("root_version"), s.get("timestamp_version")),
            "last outcome: %s" % (("%s %s %s" % (last.get("event"), last.get("version") or "",
                                                 last.get("reason") or "")).strip() if last else "none"),
            "downloaded: %s" % (s["downloaded"] or "nothing")]))
    return exitcodes.OK


if __name__ == "__main__":
    sys.exit(main())
