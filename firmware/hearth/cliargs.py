"""What the command lines (`hearth` on the host, `python -m hearth.boot` on
the device) share: global options that mean the same before and after the
sub-command, argument errors as exceptions (so --json can report them), the
JSON shape of a failure, and a quiet exit when stdout's reader goes away.
"""
import argparse
import os
import sys

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
