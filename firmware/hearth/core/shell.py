"""Console shell: tokenising, a command table, and text safe for a terminal.

The line discipline (hearth.core.linedisc) hands complete lines here; a
command's failure of any kind becomes a one-line error reply, so nothing a
person or a host tool types can raise into the loop that serves the console.
Input quoted back in a reply has its control characters escaped: a stray
ESC sequence in a line must not reprogram the terminal that shows the error.
"""
import json


def _escaped(code):
    """The escape for a character a terminal would act on, or None to print it as is."""
    if code < 32:
        if code == 9:
            return "\\t"
        if code == 10:
            return "\\n"
        if code == 13:
            return "\\r"
        return "\\x%02x" % code
    if 127 <= code < 160:                       # DEL and the C1 controls (0x9b is CSI)
        return "\\x%02x" % code
    if 0x202a <= code <= 0x202e or 0x2066 <= code <= 0x2069 or code == 0x2028 or code == 0x2029:
        return "\\u%04x" % code                 # bidi overrides and line separators
    return None


def printable(text, keep=""):
    """`text` with every control character escaped except those in `keep`
    (backslashes are left alone: the result is for reading, not parsing)."""
    out = []
    for ch in text:
        esc = _escaped(ord(ch))
        out.append(ch if esc is None or ch in keep else esc)
    return "".join(out)


def quote(data, limit=80):
    """'data' (str, or bytes shown byte by byte) quoted for a one-line reply:
    controls, backslashes and non-UTF-8 bytes escaped, cut after `limit` characters."""
    out = []
    n = 0
    for item in data:
        code = item if isinstance(item, int) else ord(item)
        if n >= limit:
            out.append("...")
            break
        n += 1
        if code == 92:
            out.append("\\\\")
        elif code == 39:
            out.append("\\'")
        elif isinstance(item, int) and code >= 128:
            out.append("\\x%02x" % code)
        else:
            esc = _escaped(code)
            out.append(chr(code) if esc is None else esc)
    return "'" + "".join(out) + "'"


def tokenize(line):
    """Split on spaces, honouring "double" and 'single' quotes. Raises ValueError."""
    tokens = []
    cur = ""
    have = False
    quote_ch = ""
    for ch in line:
        if quote_ch:
            if ch == quote_ch:
                quote_ch = ""
            else:
                cur += ch
        elif ch == '"' or ch == "'":
            quote_ch = ch
            have = True
        elif ch == " " or ch == "\t":
            if have:
                tokens.append(cur)
                cur = ""
                have = False
        else:
            cur += ch
            have = True
    if quote_ch:
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
        """Run one line. Returns (ok, output_text); output is JSON with --json.
        Never raises: whatever goes wrong is the reply."""
        try:
            tokens = tokenize(line)
        except ValueError as e:
            return self._error("--json" in line.split(), "%s in %s" % (e, quote(line)))
        as_json = "--json" in tokens
        tokens = [t for t in tokens if t != "--json"]
        if not tokens:
            return True, ""
        name = tokens[0]
        entry = self.commands.get(name)
        if entry is None:
            return self._error(as_json, "unknown command %s (try help)" % quote(name))
        fn, usage, _ = entry
        try:
            obj, text = fn(tokens[1:])
            if as_json:
                return True, json.dumps({"ok": True, "command": name, "result": obj})
            return True, str(text)
        except CommandError as e:
            return self._error(as_json, str(e))
        except (ValueError, IndexError):
            return self._error(as_json, "usage: %s %s" % (name, usage))
        except Exception as e:      # a bug in a command: the reply says so, the loop carries on
            return self._error(as_json, "%s failed: %s: %s (a bug; the device carries on - please "
                               "report it with this line)" % (quote(line), type(e).__name__, str(e)[:200]))

    def _error(self, as_json, msg):
        msg = printable(msg)                    # one line whatever the message holds
        if as_json:
            return False, json.dumps({"ok": False, "error": msg})
        return False, "error: " + msg
