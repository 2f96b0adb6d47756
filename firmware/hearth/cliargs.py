"""What the command lines (`hearth` on the host, `python -m hearth.boot` on
the device) share: global options that mean the same before and after the
sub-command, argument errors as exceptions (so --json can report them), the
JSON shape of a failure, and a quiet exit when stdout's reader goes away.
"""
import argparse
import json
import os
import sys
import traceback

from . import exitcodes


class ArgumentError(Exception):
    """A command-line mistake argparse found (the message is one line)."""


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting, so the caller
    reports the mistake like every other error. Sub-parsers inherit the class."""

    def error(self, message):
        raise ArgumentError("%s (see %s --help)" % (message, self.prog))


def add_global(parser, options):
    """Add options [(flags, kwargs)] to parser with their defaults, and to
    every sub-parser below it with no default at all: argparse copies a
    sub-parser's defaults over what the main parser parsed, so a default
    there would silently replace an option given before the sub-command."""
    for flags, kw in options:
        parser.add_argument(*flags, **kw)
    for sub in _subparsers(parser):
        _add_undefaulted(sub, options)


def sub_options(options):
    """The same options for sub-parsers as a `parents=[...]` parser (no defaults)."""
    p = argparse.ArgumentParser(add_help=False)
    _add_undefaulted(p, options)
    return p


def _add_undefaulted(parser, options):
    for flags, kw in options:
        parser.add_argument(*flags, **dict(kw, default=argparse.SUPPRESS))


def _subparsers(parser, seen=None):
    # argparse lists its sub-parsers only through the private _actions
    seen = set() if seen is None else seen
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for p in action.choices.values():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield p
                    yield from _subparsers(p, seen)


def wants_json(argv):
    """--json among the options (before a `--` that starts someone else's arguments)."""
    argv = list(argv)
    if "--" in argv:
        argv = argv[:argv.index("--")]
    return "--json" in argv


def failure(message, code):
    """The JSON object a failed command prints on stdout with --json."""
    return {"ok": False, "error": message, "exit_code": code, "exit": exitcodes.name(code)}


def fail(prog, as_json, label, message, code):
    """One line on stderr (`PROG: LABEL: MESSAGE`); with --json the failure
    object on stdout too. Returns the exit code."""
    sys.stderr.write("%s: %s: %s\n" % (prog, label, message))
    sys.stderr.flush()
    if as_json:
        sys.stdout.write(json.dumps(failure(message, code), sort_keys=True) + "\n")
        sys.stdout.flush()
    return code


def parse_command(make_parser, argv, fail_with):
    """The parsed arguments of a COMMAND-style entry point, or None with the
    usage failure reported through fail_with(as_json, label, message, code)
    (an argument error) or the help printed (no command)."""
    try:
        args = make_parser().parse_args(argv)
    except ArgumentError as e:
        fail_with(wants_json(argv), "error", str(e), exitcodes.USAGE)
        return None
    if not args.cmd:
        make_parser().print_help(sys.stderr)
        return None
    return args


def entry(main, argv=None):
    """Run main(argv) (default sys.argv[1:]); a closed stdout is exit 141, quietly."""
    try:
        return main(sys.argv[1:] if argv is None else list(argv))
    except BrokenPipeError:
        return broken_pipe()


def guarded(call, fail, debug, expected):
    """call() with its failures reported through fail(label, message, code):
    expected is [(exception classes, label, exit code or code(e))]; anything
    else is a bug, one line and exit 70 unless debug (then the traceback)."""
    try:
        return call()
    except (BrokenPipeError, SystemExit):
        raise
    except KeyboardInterrupt:
        return exitcodes.INTERRUPTED
    except Exception as e:
        for classes, label, code in expected:
            if isinstance(e, classes):
                if debug:
                    traceback.print_exc()
                return fail(label, str(e), code(e) if callable(code) else code)
        if debug:
            raise
        return fail("internal error", "%s: %s (rerun with --debug)" % (type(e).__name__, e), exitcodes.INTERNAL)


def broken_pipe():
    """stdout's reader went away (`| head`): point stdout at /dev/null so the
    interpreter's last flush does not print a traceback, and exit quietly."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass
    return exitcodes.BROKEN_PIPE
