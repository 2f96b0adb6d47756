"""Host operations on a Hearth device's console, written once over any transport.

    with device.connect("sim:") as con:       # or "/dev/ttyUSB0", "socket://...", "pty:..."
        con.status()["mode"]                  # a command's JSON result (`status --json`)
        con.command("oven setpoint 150")      # a command's text reply
        con.call("oven", "setpoint", 150)     # the same, as JSON

The console is a line shell: the host sends a line, the device may echo it
(a terminal's console does), prints the reply and then its prompt. So a
reply is read up to the prompt at the start of a line, the echoed line is
cut off, and CRLF and LF line ends read the same. Device log lines can come
at any time; those arriving outside a reply are kept in `Console.log_lines`.

Every command understands `--json` (hearth.core.shell): {"ok": true,
"result": ...} or {"ok": false, "error": "..."}; `call()` uses it, so only
`command()` ever looks at free text. An error reply of either kind becomes
DeviceError in one place, `_device_error`.
"""
import collections
import json
import os
import re
import time

from .errors import EXIT_FAILURE, HearthError
from .transport import SPEC_HELP, TransportError, TransportTimeout, open_transport  # noqa: F401 (re-exported)

PROMPT = "hearth> "
NEWLINE = b"\n"             # the console ends a line at CR, LF or CRLF; LF is the common ground
# a device log record (hearth.core.log.format_record): "[   12.34] INFO  module   message"
LOG_RECORD = re.compile(r"\[ *-?\d+\.\d\d\] (DEBUG|INFO|WARN|ERROR) ")
LOG_KEEP = 1000             # device lines kept from outside replies (the newest; a session can run for days)


class DeviceError(HearthError):
    """The device answered with an error (bad argument, refused, unknown command).
    `message` is the device's own text, `line` the command that got it."""

    exit_code = EXIT_FAILURE

    def __init__(self, line, message):
        super().__init__("the device refused %r: %s" % (line, message))
        self.line = line
        self.message = message


class ReplyError(TransportError):
    """What came back is not a Hearth console reply (wrong port, baud or device)."""


def _device_error(line, reply):
    """The one place a device's error reply becomes a host exception:
    a parsed JSON reply (dict) or the text reply's lines."""
    if isinstance(reply, dict):
        if not reply.get("ok"):
            raise DeviceError(line, str(reply.get("error", "error reply without a message")))
    elif reply and reply[0].startswith("error: "):
        raise DeviceError(line, reply[0][len("error: "):])


def quote_arg(arg):
    """One shell argument as the device's tokenizer reads it (quotes, no escapes)."""
    arg = str(arg)
    if arg and not any(c in arg for c in " \t\"'"):
        return arg
    if '"' not in arg:
        return '"%s"' % arg
    if "'" not in arg:
        return "'%s'" % arg
    raise ValueError("an argument cannot hold both quote characters: %r" % arg)


class Console:
    """The device's line shell over a transport. `timeout` (seconds) bounds each
    command; None uses the transport's own timeout."""

    def __init__(self, transport, prompt=PROMPT, timeout=None, newline=NEWLINE):
        self.transport = transport
        self.prompt = prompt.encode()
        self.timeout = timeout
        self.newline = newline
        self.log_lines = collections.deque(maxlen=LOG_KEEP)    # device output outside replies
        self._synced = False
        self._echoes = False            # learnt by sync()
        self._serial = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.transport.close()

    # -- operations -----------------------------------------------------------
    def command(self, line, timeout=None):
        """Run one command line; its text reply (lines joined by \\n)."""
        lines = self._exchange(line, timeout)
        _device_error(line, lines)
        return "\n".join(lines)

    def call(self, name, *args, timeout=None):
        """Run a command with `--json`; its result object."""
        for a in args:
            if str(a) == "--json":
                raise ValueError("--json is added by call(); pass the command's own arguments")
        line = " ".join([name] + [quote_arg(a) for a in args] + ["--json"])
        lines = self._exchange(line, timeout)
        reply = self._json_reply(line, lines)
        _device_error(line[:-len(" --json")], reply)
        return reply.get("result")

    def status(self):
        return self.call("status")

    def metrics(self):
        return self.call("metrics")

    def modes(self):
        return self.call("modes")

    def commands(self):
        """The device's command names (its `help`)."""
        return [row["command"] for row in self.call("help")]

    def sync(self, timeout=None):
        """Bring the console to a known state: an empty line ends whatever a
        previous user left half-typed, then the reply that quotes a token line
        (its unknown-command error) marks where stale output - a
        late reply, old prompts, log records - ends. That goes to `log_lines`.
        Runs by itself before the first command and after a timeout."""
        self._synced = False
        self._serial += 1
        token = "hearth-sync-%d-%d" % (os.getpid(), self._serial)
        deadline = self._deadline_for(timeout)
        self.transport.write(self.newline + token.encode() + self.newline)
        seen = []
        while True:
            lines = _lines(self._read_to_prompt(deadline))
            seen += lines
            self.log_lines += lines
            # the reply quotes the token; its bare echo may come a prompt earlier
            # (a console echoes both lines as they arrive, then replies to each)
            if any(token in l and l != token for l in lines):
                break
        # a console that echoed the token echoes every line: a reply then ends
        # at the first prompt after the echo, not at a prompt redrawn before it
        self._echoes = token in seen
        self._synced = True

    # -- the exchange -----------------------------------------------------------
    def _exchange(self, line, timeout):
        if not line.strip():
            raise ValueError("an empty command line")
        if any(ord(c) < 32 or ord(c) == 127 for c in line):
            # a CR/LF would split it into two commands; 0x06/0x04 could open an SMP frame
            raise ValueError("a command line cannot hold control characters: %r" % line)
        try:
            if not self._synced:
                self.sync(timeout)
            return self._send_and_read(line, timeout)
        except TransportTimeout:
            self._synced = False        # a late reply may still come: resync before the next
            raise

    def _deadline_for(self, timeout):
        if timeout is None:
            timeout = self.transport.timeout if self.timeout is None else self.timeout
        return time.monotonic() + timeout

    def _send_and_read(self, line, timeout):
        t = self.transport
        stray = t.read_available()
        if stray:
            self.log_lines += _lines(stray)
        t.write(line.encode("utf-8") + self.newline)
        deadline = self._deadline_for(timeout)
        lines = _lines(self._read_to_prompt(deadline))
        # A log record that lands while the console sits at its prompt is
        # printed above a redrawn prompt; that prompt ends no reply of ours.
        while self._echoes and line not in lines:
            lines += _lines(self._read_to_prompt(deadline))
        if line in lines:           # the echo: what came before it was already on its way
            keep = lines.index(line)
            cut = keep + 1
        else:                       # no echo: records the device logged just before the reply
            keep = 0
            while keep < len(lines) - 1 and LOG_RECORD.match(lines[keep]):
                keep += 1
            if LOG_RECORD.match(lines[-1] if lines else ""):
                keep = 0            # nothing but records: the reply is a `log` listing
            cut = keep
        self.log_lines += lines[:keep]
        return lines[cut:]

    def _read_to_prompt(self, deadline):
        """Bytes up to the prompt where it starts a line (or the reply)."""
        raw = b""
        while True:
            raw += self.transport.read_until(self.prompt, timeout=max(0.0, deadline - time.monotonic()))
            body = raw[:-len(self.prompt)]
            if not body or body.endswith(b"\n"):
                return body

    def _json_reply(self, line, lines):
        for text in reversed(lines):
            if text.startswith("{"):
                try:
                    obj = json.loads(text)
                except (ValueError, RecursionError):   # RecursionError: nested too deeply
                    continue
                if isinstance(obj, dict) and "ok" in obj:
                    return obj
        first = lines[0] if lines else "nothing"
        raise ReplyError("%s: no JSON reply to %r (got %r); is this a Hearth console on the right "
                         "port and baud?" % (self.transport.description, line, first[:80]))


def _lines(raw):
    """Reply bytes -> text lines; CRLF and LF both end a line, a final partial line is kept."""
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def connect(spec, prompt=PROMPT, **options):
    """Open the transport `spec` names and return a Console over it (use in a `with`)."""
    return Console(open_transport(spec, **options), prompt=prompt)
