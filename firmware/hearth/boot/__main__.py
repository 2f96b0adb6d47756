"""python -m hearth.boot: the device-side launcher.

    init     --board BOARD.toml --key KEY.pem     provision storage (device record, trusted keys)
    install  IMAGE|-                              stage a signed image for a trial boot
    status   [--json]                             slots, trial, versions, security counter
    boot     [--no-run] [-- ARGS]                 pick a slot, count the trial, run the image
    confirm                                       the running trial image passed its health check
    revert                                        cancel the trial / go back to the previous image

Every command takes --storage DIR (default: $HEARTH_STORAGE).
Exit codes: 0 ok, 1 refused (reason on stderr), 2 usage, 3 recovery (no bootable image).
"""
import argparse
import json
import os
import sys

from ..image.errors import ImageError
from .launcher import Launcher, init
from .state import StateError
from .storage import DirStorage

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_RECOVERY = 0, 1, 2, 3


def _attempts(text):
    try:
        n = int(text)
    except ValueError:
        n = None
    if n is None or not 1 <= n <= 255:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 255, not %r" % text)
    return n


def _parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--storage", default=os.environ.get("HEARTH_STORAGE"),
                        help="storage directory (default $HEARTH_STORAGE)")
    common.add_argument("--json", action="store_true", help="print results as JSON")
    p = argparse.ArgumentParser(prog="python -m hearth.boot", description=__doc__.split("\n")[0],
                                parents=[common])
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    s = sub.add_parser("init", parents=[common], help="provision storage: device record and trusted keys")
    s.add_argument("--board", required=True, help="board TOML file")
    s.add_argument("--key", action="append", default=[], required=True,
                   help="PEM key images must be signed with (repeatable; only the public half is kept)")
    s.add_argument("--max-attempts", type=_attempts, default=3, help="trial boots before a revert (1..255, default 3)")
    s.add_argument("--force", action="store_true", help="replace an existing device record and keys")
    s = sub.add_parser("install", parents=[common], help="stage a signed image for a trial boot")
    s.add_argument("image", help="image file, or - to read it from stdin")
    s.add_argument("--max-attempts", type=_attempts, help="trial boots for this image (1..255)")
    s.add_argument("--allow-downgrade", action="store_true", help="install a version older than the confirmed one")
    sub.add_parser("status", parents=[common], help="show slots and state")
    s = sub.add_parser("boot", parents=[common], help="pick a slot and run it")
    s.add_argument("--no-run", action="store_true", help="decide and extract, print the decision, do not run")
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
    st = launcher.st
    run_dir = st.local_path(decision.run_dir)
    m = decision.verified.manifest
    env = dict(os.environ)
    env["PYTHONPATH"] = run_dir + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update({
        "HEARTH_STORAGE": st.root,
        "HEARTH_RUN_DIR": run_dir,
        "HEARTH_BOOT_SLOT": decision.slot,
        "HEARTH_BOOT_TRIAL": "1" if decision.trial else "0",
        "HEARTH_IMAGE_VERSION": decision.verified.version,
    })
    if app_args and app_args[0] == "--":
        app_args = app_args[1:]
    argv = [sys.executable, "-m", m["entry"]] + list(app_args)
    sys.stdout.flush()
    sys.stderr.flush()
    # exec: the supervisor (systemd) sees the application's exit status, and
    # restarting the launcher is the next boot, which counts the next attempt.
    os.execve(sys.executable, argv, env)


def main(argv=None):
    args = _parser().parse_args(argv)
    if not args.cmd:
        _parser().print_help(sys.stderr)
        return EXIT_USAGE
    if not args.storage:
        sys.stderr.write("hearth.boot: error: give --storage DIR (or set HEARTH_STORAGE)\n")
        return EXIT_USAGE
    st = DirStorage(args.storage)
    launcher = Launcher(st)
    try:
        if args.cmd == "init":
            from .device import load_board
            try:
                board = load_board(args.board)
            except ValueError as e:
                sys.stderr.write("hearth.boot: error: %s\n" % e)
                return EXIT_USAGE
            keys = []
            for path in args.key:
                try:
                    with open(path, "rb") as f:
                        keys.append((os.path.basename(path), f.read()))
                except OSError as e:
                    sys.stderr.write("hearth.boot: error: cannot read key %s: %s\n" % (path, e.strerror))
                    return EXIT_USAGE
            r = init(st, board, keys, max_attempts=args.max_attempts, force=args.force)
            _print(args, r, "initialized %s (%s), slots of %d bytes, %d key(s)"
                   % (r["board"], r["arch"], r["slot_bytes"], len(r["keys"])))
        elif args.cmd == "install":
            if args.image == "-":                     # streamed in, e.g. over the console
                r = launcher.install(sys.stdin.buffer, max_attempts=args.max_attempts,
                                     allow_downgrade=args.allow_downgrade)
            else:
                try:
                    f = open(args.image, "rb")
                except OSError as e:
                    sys.stderr.write("hearth.boot: error: cannot read %s: %s\n" % (args.image, e.strerror))
                    return EXIT_USAGE
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
    except (ImageError, StateError) as e:
        sys.stderr.write("hearth.boot: refused: %s\n" % e)
        return EXIT_REFUSED
    return EXIT_OK


def _boot(args, launcher):
    while True:
        d = launcher.select()
        if not d.recovery:
            launcher.materialize(d)
            if args.no_run:
                _print(args, d.describe(), "boot slot %s: %s%s (run dir %s)" % (
                    d.slot, d.verified.version, " [trial]" if d.trial else "", d.run_dir))
                return EXIT_OK
            _run(d, launcher, args.app_args)
            return EXIT_OK              # not reached
        if args.no_recovery:
            _print(args, d.describe(), "recovery: " + "; ".join(d.reasons))
            return EXIT_RECOVERY
        from .recovery import serve
        if serve(launcher, sys.stdin, sys.stdout, d.reasons) != "boot":
            return EXIT_RECOVERY


if __name__ == "__main__":
    sys.exit(main())
