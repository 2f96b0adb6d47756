"""`hearth` command line: a table of commands discovered from hearth_tools.commands.

Each module in hearth_tools/commands/ defines:
    NAME = "image"                      # the sub-command
    HELP = "build, inspect and verify signed firmware images"
    USES_STORAGE = True                 # optional: the command takes --storage DIR
    def add_arguments(parser): ...      # argparse setup (may add sub-parsers)
    def run(args, out): ...             # returns an exit code (or None for 0)
`out` is an Output: out.data(obj_or_text) writes results to stdout (JSON with
--json), out.info(text) writes messages to stderr. Library functions live in
their own modules so every operation is callable without the CLI.

--json, --debug and --storage mean the same before and after the
sub-command; exit codes are hearth.exitcodes (docs/CLI.md).
"""
import argparse
import importlib
import json
import os
import pkgutil
import sys

from hearth import cliargs

from . import commands
from .errors import EXIT_USAGE, HearthError, UsageError

PROG = "hearth"

GLOBAL_OPTIONS = (
    (("--json",), {"action": "store_true", "help": "machine-readable output (one JSON object per line)"}),
    (("--debug",), {"action": "store_true", "help": "show tracebacks"}),
)
STORAGE_OPTION = (("--storage",), {"metavar": "DIR", "default": None,
                                   "help": "device storage directory (demo, sim)"})


def colour_wanted(stream):
    """Colour only on a terminal, and never with NO_COLOR set (no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


class Output:
    """stdout for data, stderr for messages; JSON mode for scripts."""

    def __init__(self, as_json=False, stream=None, err=None):
        self.json = as_json
        self.stream = stream or sys.stdout
        self.err = err or sys.stderr
        self.color = colour_wanted(self.err)
        self.tty = self.err.isatty()
        self._console = None

    def data(self, obj, text=None):
        """Emit one result: obj as a JSON line with --json, else text (or str(obj))."""
        if self.json:
            self.stream.write(json.dumps(obj, sort_keys=True, default=str) + "\n")
        else:
            self.stream.write((text if text is not None else str(obj)) + "\n")
        self.stream.flush()

    def info(self, text, lead=None, style=None):
        """A message on stderr; `lead` (e.g. "hearth: error:") is coloured
        with `style` on a terminal."""
        if lead is None:
            self.err.write(text + "\n")
        elif self.color:
            from rich.text import Text
            line = Text()
            line.append(lead, style=style)
            line.append(" " + text)
            self._rich().print(line)
        else:
            self.err.write(lead + " " + text + "\n")
        self.err.flush()

    def fail(self, message, code, label="error", extra=None):
        """One line on stderr and, with --json, a failure object (plus extra
        keys) on stdout; returns the exit code."""
        self.info(message, "%s: %s:" % (PROG, label), "bold red")
        if self.json:
            self.data(dict(extra or {}, **cliargs.failure(message, code)))
        return code

    def _rich(self):
        if self._console is None:
            from rich.console import Console
            self._console = Console(file=self.err, force_terminal=True, color_system="standard",
                                    highlight=False, markup=False, emoji=False, soft_wrap=True)
        return self._console


def _command_modules():
    mods = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module("%s.%s" % (commands.__name__, info.name)))
    return sorted(mods, key=lambda m: m.NAME)


def build_parser():
    parser = cliargs.Parser(
        prog=PROG, description="Hearth host tool: models, images, boards, benchmarks.")
    parser.add_argument(*STORAGE_OPTION[0], **STORAGE_OPTION[1])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        if getattr(mod, "USES_STORAGE", False):
            p.add_argument(*STORAGE_OPTION[0], **dict(STORAGE_OPTION[1], default=argparse.SUPPRESS))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run, _mod=mod)
    cliargs.add_global(parser, GLOBAL_OPTIONS)
    return parser


def run_as(command, argv=None):
    """`python -m hearth_tools.X ARGS` is `hearth X ARGS`: the modules stay
    library code, the command table is the one command line."""
    return main([command] + (sys.argv[1:] if argv is None else list(argv)))


def main(argv=None):
    return cliargs.entry(_main, argv)


def _main(argv):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except cliargs.ArgumentError as e:
        return Output(as_json=cliargs.wants_json(argv)).fail(str(e), EXIT_USAGE)
    out = Output(as_json=args.json)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return out.fail("name a command (see hearth --help)", EXIT_USAGE) if args.json else EXIT_USAGE
    return cliargs.guarded(lambda: _run(args, out), lambda label, msg, code: out.fail(msg, code, label=label),
                           args.debug, [(HearthError, "error", lambda e: e.exit_code)])


def _run(args, out):
    if args.storage is not None and not getattr(args._mod, "USES_STORAGE", False):
        raise UsageError("hearth %s does not use --storage (only demo and sim do)" % args.command)
    rc = args._run(args, out)
    return 0 if rc is None else rc


if __name__ == "__main__":
    sys.exit(main())
