"""python -m hearth.boot: the device-side launcher.

    init     --board BOARD.toml --key KEY.pem     provision storage (device record, trusted keys)
    install  IMAGE|-                              stage a signed image for a trial boot
    install  --delta PATCH|-                      the same, from a delta patch against the running image
    status   [--json]                             slots, trial, versions, security counter
    boot     [--no-run] [-- ARGS]                 pick a slot, count the trial, run the image
    confirm                                       the running trial image passed its health check
    revert                                        cancel the trial / go back to the previous image

--storage DIR (default: $HEARTH_STORAGE), --json and --debug go before or
after the command. `boot --no-run` is a dry run: it prints the decision and
writes nothing (no attempt counted, no recovery console).
Exit codes (hearth.exitcodes, docs/CLI.md): 0 ok, 1 refused (reason on
stderr), 2 usage, 3 recovery (no bootable image), 70 internal error,
141 stdout closed early.
"""
import argparse
import json
import os
import sys

from .. import cliargs, exitcodes
from ..delta.errors import DeltaError
from ..image.errors import ImageError
from . import contract
from .launcher import Launcher, init
from .state import StateError
from .storage import DirStorage

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_RECOVERY = exitcodes.OK, exitcodes.FAILURE, exitcodes.USAGE, \
    exitcodes.RECOVERY
PROG = "hearth.boot"

GLOBAL_OPTIONS = (
    (("--storage",), {"metavar": "DIR", "default": None, "help": "storage directory (default $HEARTH_STORAGE)"}),
    (("--json",), {"action": "store_true", "help": "print results (and a failure) as JSON"}),
    (("--debug",), {"action": "store_true", "help": "show tracebacks"}),
)


class _Usage(Exception):
    """A mistake in the command's arguments or files: exit 2."""


def _attempts(text):
    try:
        n = int(text)
    except ValueError:
        n = None
    if n is None or not 1 <= n <= 255:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 255, not %r" % text)
    return n


def _parser():
    common = cliargs.sub_options(GLOBAL_OPTIONS)
    p = cliargs.Parser(prog="python -m hearth.boot", description=__doc__.split("\n")[0])
    for flags, kw in GLOBAL_OPTIONS:
        p.add_argument(*flags, **kw)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    s = sub.add_parser("init", parents=[common], help="provision storage: device record and trusted keys")
    s.add_argument("--board", required=True, help="board TOML file")
    s.add_argument("--key", action="append", default=[], required=True,
                   help="PEM key images must be signed with (repeatable; only the public half is kept)")
    s.add_argument("--max-attempts", type=_attempts, default=3, help="trial boots before a revert (1..255, default 3)")
    s.add_argument("--force", action="store_true", help="replace an existing device record and keys")
    s = sub.add_parser("install", parents=[common], help="stage a signed image for a trial boot")
    s.add_argument("image", nargs="?", help="image file, or - to read it from stdin")
    s.add_argument("--delta", metavar="PATCH", help="install from a delta patch (hearth delta create) against the "
                   "running image instead (a file, or - for stdin)")
    s.add_argument("--max-attempts", type=_attempts, help="trial boots for this image (1..255)")
    s.add_argument("--allow-downgrade", action="store_true", help="install a version older than the confirmed one")
    sub.add_parser("status", parents=[common], help="show slots and state")
    s = sub.add_parser("boot", parents=[common], help="pick a slot and run it")
    s.add_argument("--no-run", action="store_true", help="dry run: print the decision, write nothing, do not run")
    s.add_argument("--no-recovery", action="store_true", help="exit 3 instead of opening the recovery console")
    s.add_argument("app_args", nargs=argparse.REMAINDER, help="arguments for the application (after --)")
    sub.add_parser("confirm", parents=[common], help="confirm the running trial image")
    sub.add_parser("revert", parents=[common], help="cancel the trial or return to the previous image")
    return p


def _print(args, obj, text):
    sys.stdout.write((json.dumps(obj, sort_keys=True) if args.json else text) + "\n")
    sys.stdout.flush()


def _status_text(s):
    lines = ["running: %s" % ("slot %s, %s%s" % (s["slot"], s["version"], " (trial %d/%d)" % (
        s["attempts"], s["max_attempts"]) if s["trial"] else "") if s["slot"] else
        "nothing yet" if s["pending"] else "nothing (recovery)")]
    if s["pending"]:
        lines.append("pending: slot %s, %s (boots next)" % (s["pending"], s["slots"][s["pending"]]["version"]))
    for name, meta in sorted(s["slots"].items()):
        lines.append("slot %s: %s" % (name, "empty" if not meta else "%s sc=%d %s" % (
            meta["version"], meta["security_counter"], "confirmed" if meta["confirmed"] else "unconfirmed")))
    lines.append("security counter: %d" % s["security_counter"])
    if s["last_event"]:
        e = s["last_event"]
        lines.append("last event: %s%s" % (e.get("event"), (" (%s)" % e["reason"]) if e.get("reason") else ""))
    return "\n".join(lines)


def _run(decision, launcher, app_args):
    # isolated, from the run directory, with exactly the contract's environment
    contract.exec_image(launcher.st, decision, app_args)


def _fail(as_json, label, message, code):
    return cliargs.fail(PROG, as_json, label, message, code)


def _board_file(path):
    from .device import load_board
    try:
        if not os.path.isfile(path):
            # the launcher records what a file says; a board name would resolve
            # against a source tree a device does not have
            raise ValueError("board file %s: not a file" % path)
        return load_board(path)
    except ValueError as e:
        hint = ""
        if not os.path.exists(path) and os.sep not in path and not path.endswith(".toml"):
            from ..board import BOARDS_DIR
            named = os.path.join(BOARDS_DIR, path + ".toml")
            if os.path.isfile(named):
                hint = " (--board takes the TOML file: %s)" % os.path.relpath(named)
        raise _Usage("%s%s" % (e, hint)) from None


def main(argv=None):
    return cliargs.entry(_main, argv)


def _main(argv):
    args = cliargs.parse_command(_parser, argv, _fail)
    if args is None:
        return EXIT_USAGE
    if args.storage is None:
        args.storage = os.environ.get(contract.STORAGE)
    if not args.storage:
        return _fail(args.json, "error", "give --storage DIR (or set HEARTH_STORAGE)", EXIT_USAGE)
    return cliargs.guarded(lambda: _command(args), lambda label, msg, code: _fail(args.json, label, msg, code),
                           args.debug, [(_Usage, "error", EXIT_USAGE),
                                        ((ImageError, StateError, DeltaError), "refused", EXIT_REFUSED)])


def _command(args):
    st = DirStorage(args.storage)
    launcher = Launcher(st)
    if args.cmd == "init":
        board = _board_file(args.board)
        keys = []
        for path in args.key:
            try:
                with open(path, "rb") as f:
                    keys.append((os.path.basename(path), f.read()))
            except OSError as e:
                raise _Usage("cannot read key %s: %s" % (path, e.strerror)) from None
        r = init(st, board, keys, max_attempts=args.max_attempts, force=args.force)
        _print(args, r, "initialized %s (%s), slots of %d bytes, %d key(s)"
               % (r["board"], r["arch"], r["slot_bytes"], len(r["keys"])))
    elif args.cmd == "install" and (args.delta is None) == (args.image is None):
        raise _Usage("give an IMAGE or --delta PATCH (one of them)")
    elif args.cmd == "install" and args.delta is not None:
        r = _install_delta(args, launcher)
        _print(args, r, "installed %s in slot %s from a %s-segment delta; it boots next as a trial (%d attempts)"
               % (r["version"], r["slot"], r["delta"]["segments"], r["max_attempts"]))
    elif args.cmd == "install":
        if args.image == "-":                     # streamed in, e.g. over the console
            r = launcher.install(sys.stdin.buffer, max_attempts=args.max_attempts,
                                 allow_downgrade=args.allow_downgrade)
        else:
            try:
                f = open(args.image, "rb")
            except OSError as e:
                raise _Usage("cannot read %s: %s" % (args.image, e.strerror)) from None
            with f:
                r = launcher.install(f, max_attempts=args.max_attempts, allow_downgrade=args.allow_downgrade)
        _print(args, r, "installed %s in slot %s; it boots next as a trial (%d attempts)"
               % (r["version"], r["slot"], r["max_attempts"]))
    elif args.cmd == "status":
        s = launcher.status()
        _print(args, s, _status_text(s))
    elif args.cmd == "confirm":
        s = launcher.confirm()
        _print(args, s, ("confirmed %s in slot %s" % (s["version"], s["slot"])) if s["confirmed"]
               else s["note"])
    elif args.cmd == "revert":
        s = launcher.revert()
        _print(args, s, _status_text(s))
    elif args.cmd == "boot":
        return _boot(args, launcher)
    return EXIT_OK


def _install_delta(args, launcher):
    if args.delta == "-":
        return launcher.install_delta(sys.stdin.buffer, max_attempts=args.max_attempts,
                                      allow_downgrade=args.allow_downgrade)
    try:
        f = open(args.delta, "rb")
    except OSError as e:
        raise _Usage("cannot read %s: %s" % (args.delta, e.strerror)) from None
    with f:
        return launcher.install_delta(f, max_attempts=args.max_attempts, allow_downgrade=args.allow_downgrade)


def _dry_run(args, launcher):
    """boot --no-run: the decision boot would make now; nothing is written."""
    d = launcher.select(dry_run=True)
    obj = dict(d.describe(), dry_run=True)
    if d.recovery:
        return _recovery(args, d, obj)
    _print(args, obj, "would boot slot %s: %s%s%s (dry run: nothing written)" % (
        d.slot, d.verified.version, " [trial]" if d.trial else "",
        "".join("; " + r for r in d.reasons)))
    return EXIT_OK


def _recovery(args, d, obj):
    text = "recovery: " + "; ".join(d.reasons)
    _print(args, dict(obj, **cliargs.failure("no bootable image: " + "; ".join(d.reasons), EXIT_RECOVERY)), text)
    return EXIT_RECOVERY


def _boot(args, launcher):
    if args.no_run:
        return _dry_run(args, launcher)
    while True:
        d = launcher.boot()             # select + extract; storage errors fall back, then recovery
        if not d.recovery:
            _run(d, launcher, args.app_args)
            return EXIT_OK              # not reached
        if args.no_recovery:
            return _recovery(args, d, d.describe())
        from .recovery import serve
        if serve(launcher, sys.stdin, sys.stdout, d.reasons) != "boot":
            return EXIT_RECOVERY


if __name__ == "__main__":
    sys.exit(main())
