"""Console line shell: framing, tokenising and a command table.

One serial port carries two things: human command lines and SMP (MCUmgr)
frames. SMP console frames start with 0x06 0x09 (first fragment) or 0x04 0x14
(continuation) and end with a newline, so the splitter hands those lines to
an SMP handler and everything else to the shell. No byte of a human line can
start that way (they are control characters a terminal does not send).
"""
import json

SMP_START = b"\x06\x09"
SMP_CONT = b"\x04\x14"
MAX_LINE = 512              # longer lines are dropped and reported


class LineSplitter:
    """feed(bytes) -> list of ("line", str) | ("smp", bytes) | ("error", str)."""

    def __init__(self, max_line=MAX_LINE):
        self.buf = bytearray()
        self.max_line = max_line
        self.dropping = False

    def feed(self, data):
        out = []
        for b in data:
            if b == 10:                      # \n ends a line or a frame
                self._emit(out)
            elif self.dropping:
                continue
            elif len(self.buf) >= self.max_line:
                self.dropping = True
                self.buf = bytearray()
                out.append(("error", "line longer than %d bytes dropped" % self.max_line))
            else:
                self.buf.append(b)
        return out

    def _emit(self, out):
        if self.dropping:
            self.dropping = False
            self.buf = bytearray()
            return
        raw = bytes(self.buf)
        self.buf = bytearray()
        if raw[:2] == SMP_START or raw[:2] == SMP_CONT:
            out.append(("smp", raw))
            return
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            text = raw.decode("utf-8")
        except UnicodeError:
            out.append(("error", "line is not UTF-8"))
            return
        out.append(("line", text))


def tokenize(line):
    """Split on spaces, honouring "double" and 'single' quotes. Raises ValueError."""
    tokens = []
    cur = ""
    have = False
    quote = ""
    for ch in line:
        if quote:
            if ch == quote:
                quote = ""
            else:
                cur += ch
        elif ch == '"' or ch == "'":
            quote = ch
            have = True
        elif ch == " " or ch == "\t":
            if have:
                tokens.append(cur)
                cur = ""
                have = False
        else:
            cur += ch
            have = True
    if quote:
        raise ValueError("unterminated quote")
    if have:
        tokens.append(cur)
    return tokens


class CommandError(Exception):
    """A command's one-line error (bad argument, refused, ...)."""


class Shell:
    """Command table. Each handler is fn(args) -> (obj, text); `--json`
    anywhere in the line selects JSON output for that command."""

    def __init__(self):
        self.commands = {}
        self.add("help", self._help, "", "list commands")

    def add(self, name, fn, usage, help_text):
        self.commands[name] = (fn, usage, help_text)

    def _help(self, args):
        rows = []
        names = sorted(self.commands)
        for n in names:
            fn, usage, h = self.commands[n]
            rows.append({"command": n, "usage": (n + " " + usage).strip(), "help": h})
        text = "\n".join(["  %-46s %s" % (r["usage"], r["help"]) for r in rows])
        text += "\n  (add --json to any command for JSON output)"
        return rows, text

    def execute(self, line):
        """Run one line. Returns (ok, output_text); output is JSON with --json."""
        try:
            tokens = tokenize(line)
        except ValueError as e:
            return self._error("--json" in line.split(), str(e))
        as_json = "--json" in tokens
        tokens = [t for t in tokens if t != "--json"]
        if not tokens:
            return True, ""
        name = tokens[0]
        entry = self.commands.get(name)
        if entry is None:
            return self._error(as_json, "unknown command '%s' (try help)" % name)
        fn, usage, _ = entry
        try:
            obj, text = fn(tokens[1:])
        except CommandError as e:
            return self._error(as_json, str(e))
        except (ValueError, IndexError):
            return self._error(as_json, "usage: %s %s" % (name, usage))
        if as_json:
            return True, json.dumps({"ok": True, "command": name, "result": obj})
        return True, text

    def _error(self, as_json, msg):
        if as_json:
            return False, json.dumps({"ok": False, "error": msg})
        return False, "error: " + msg
