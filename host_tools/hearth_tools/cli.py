"""`hearth` command line: a table of commands discovered from hearth_tools.commands.

Each module in hearth_tools/commands/ defines:
    NAME = "image"                      # the sub-command
    HELP = "build, inspect and verify signed firmware images"
    def add_arguments(parser): ...      # argparse setup (may add sub-parsers)
    def run(args, out): ...             # returns an exit code (or None for 0)
`out` is an Output: out.data(obj_or_text) writes results to stdout (JSON with
--json), out.info(text) writes messages to stderr. Library functions live in
their own modules so every operation is callable without the CLI.
"""
import argparse
import importlib
import json
import os
import pkgutil
import sys
import traceback

from . import commands
from .errors import EXIT_INTERNAL, EXIT_USAGE, HearthError


class Output:
    """stdout for data, stderr for messages; JSON mode for scripts."""

    def __init__(self, as_json=False, stream=None, err=None):
        self.json = as_json
        self.stream = stream or sys.stdout
        self.err = err or sys.stderr
        self.color = (os.environ.get("NO_COLOR") is None) and self.stream.isatty()
        self.tty = self.err.isatty()

    def data(self, obj, text=None):
        """Emit one result: obj as a JSON line with --json, else text (or str(obj))."""
        if self.json:
            self.stream.write(json.dumps(obj, sort_keys=True, default=str) + "\n")
        else:
            self.stream.write((text if text is not None else str(obj)) + "\n")
        self.stream.flush()

    def info(self, text):
        self.err.write(text + "\n")
        self.err.flush()


def _command_modules():
    mods = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module("%s.%s" % (commands.__name__, info.name)))
    return sorted(mods, key=lambda m: m.NAME)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="hearth", description="Hearth host tool: models, images, boards, benchmarks.")
    parser.add_argument("--json", action="store_true", help="machine-readable output (one JSON object per line)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    out = Output(as_json=args.json)
    try:
        rc = args._run(args, out)
        return 0 if rc is None else rc
    except HearthError as e:
        if args.debug:
            traceback.print_exc()
        out.info("hearth: error: %s" % e)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug: one line unless --debug
        if args.debug:
            raise
        out.info("hearth: internal error: %s: %s (rerun with --debug)" % (type(e).__name__, e))
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
