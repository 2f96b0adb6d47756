"""python -m hearth.delta apply OLD PATCH -o NEW: the applier on the device (no host tools).

--json prints the result (and a failure) as JSON; exit codes as hearth.exitcodes:
0 ok, 1 refused (the reason on stderr), 2 usage or an unreadable file.
"""
import json
import os
import sys

from .. import cliargs, exitcodes
from .applier import apply_file
from .errors import DeltaError

PROG = "hearth.delta"


def _parser():
    p = cliargs.Parser(prog="python -m hearth.delta", description=__doc__.split("\n")[0])
    p.add_argument("--json", action="store_true", help="print the result (and a failure) as JSON")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    s = sub.add_parser("apply", help="apply PATCH to OLD, writing NEW")
    s.add_argument("old")
    s.add_argument("patch")
    s.add_argument("-o", "--output", required=True)
    return p


class _Usage(Exception):
    pass


def _fail(as_json, label, message, code):
    return cliargs.fail(PROG, as_json, label, message, code)


def main(argv=None):
    return cliargs.entry(_main, argv)


def _main(argv):
    args = cliargs.parse_command(_parser, argv, _fail)
    if args is None:
        return exitcodes.USAGE
    return cliargs.guarded(lambda: _apply(args), lambda label, msg, code: _fail(args.json, label, msg, code),
                           args.debug, [(_Usage, "error", exitcodes.USAGE), (DeltaError, "refused", exitcodes.FAILURE)])


def _apply(args):
    for p in (args.old, args.patch):
        if not os.path.isfile(p):
            raise _Usage("%s: no such file" % p)
    try:
        s = apply_file(args.old, args.patch, args.output)
    except OSError as e:
        raise _Usage("%s: %s" % (e.filename or args.output, e.strerror or e)) from None
    r = dict(s.describe(), output=args.output)
    sys.stdout.write((json.dumps(r, sort_keys=True) if args.json else
                      "%s: %d bytes, sha256 %s (verified)" % (args.output, s.result_size, s.result_sha256[:16])) + "\n")
    return exitcodes.OK


if __name__ == "__main__":
    sys.exit(main())
