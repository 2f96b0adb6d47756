"""Console line discipline: bytes from a terminal or a host tool -> lines and SMP frames.

One serial port carries two things: human command lines and SMP (MCUmgr)
frames. SMP console frames start with 0x06 0x09 (first fragment) or 0x04 0x14
(continuation) and end with a newline; they are passed on whole, never echoed
or edited. Everything else is a line for the shell, handled the way a
terminal user expects of a serial console (`screen`, `picocom`, miniterm all
send CR for Enter and expect the device to echo):

* CR, LF and CRLF each end one line (a CR's LF may arrive in the next read);
* with an `echo` callback, printable keys are echoed, controls as ^X, the
  line end as CRLF; Backspace (0x7f or 0x08) erases the last character
  (a whole UTF-8 sequence; both columns of a ^X); Ctrl-C cancels the line;
* a line longer than `max_line` bytes is dropped and reported at its end.

A first 0x06 or 0x04 at the start of a line is held back until the next
byte says whether a frame begins; otherwise it is an ordinary control key.
"""
from .shell import quote

SMP_START = b"\x06\x09"
SMP_CONT = b"\x04\x14"
MAX_LINE = 512              # longer lines are dropped and reported
CR = 13
LF = 10
BS = 8
DEL = 127
ETX = 3                     # Ctrl-C
TAB = 9
CRLF = b"\r\n"
_ERASE = b"\b \b"


def _shown(b):
    """How a terminal is shown byte b of a line: controls as ^X, TAB as a space."""
    if b == TAB:
        return b" "
    if b < 32:
        return bytes([94, b + 64])
    return bytes([b])


class LineDiscipline:
    """feed(bytes) -> list of ("line", str) | ("frame", bytes) | ("cancel", None) | ("error", str)."""

    def __init__(self, echo=None, max_line=MAX_LINE):
        self.echo = echo                # fn(bytes) for a terminal's echo, or None
        self.max_line = max_line
        self.buf = bytearray()
        self.frame = False              # the line being read is an SMP frame
        self.held = -1                  # 0x06/0x04 at a line start, not yet known to open a frame
        self.after_cr = False           # a LF now completes a CRLF: not a second line
        self.overflow = False

    def reset(self):
        self.buf = bytearray()
        self.frame = False
        self.held = -1
        self.after_cr = False
        self.overflow = False

    def shown(self):
        """The line typed so far as its echo showed it (to redraw it after other output)."""
        if self.frame or self.echo is None:
            return b""
        return b"".join([_shown(b) for b in self.buf])

    def feed(self, data):
        out = []
        for b in data:
            self._byte(b, out)
        return out

    def _say(self, data):
        if self.echo is not None and not self.frame:
            self.echo(data)

    def _byte(self, b, out):
        if self.after_cr:
            self.after_cr = False
            if b == LF:
                return
        if self.held >= 0:
            first = self.held
            self.held = -1
            if (first == 6 and b == 9) or (first == 4 and b == 0x14):
                self.frame = True
                self.buf.append(first)
                self.buf.append(b)
                return
            self._insert(first)
        if b == CR or b == LF:
            self.after_cr = b == CR
            self._end(out)
        elif self.frame:
            self._insert(b)
        elif b == ETX:
            self._say(b"^C" + CRLF)
            self.reset()
            out.append(("cancel", None))
        elif b == DEL or b == BS:
            self._erase()
        elif not self.buf and not self.overflow and (b == 6 or b == 4):
            self.held = b
        else:
            self._insert(b)

    def _insert(self, b):
        if self.overflow:
            return
        if len(self.buf) >= self.max_line:
            self.overflow = True        # reported when the line ends; the echo stops here
            self._say(b"\x07")
            return
        self.buf.append(b)
        self._say(_shown(b))

    def _erase(self):
        buf = self.buf
        if self.overflow or not buf:
            return
        n = 1                           # a UTF-8 sequence: its continuation bytes and its lead
        while n < len(buf) and n < 4 and buf[len(buf) - n] & 0xC0 == 0x80:
            n += 1
        if n > 1 and buf[len(buf) - n] < 0xC0:
            n = 1                       # stray continuation bytes go one at a time
        last = buf[len(buf) - n]
        self.buf = buf[:len(buf) - n]
        self._say(_ERASE + _ERASE if last < 32 and last != TAB else _ERASE)

    def _end(self, out):
        raw = bytes(self.buf)
        frame = self.frame
        overflow = self.overflow
        self._say(CRLF)
        self.buf = bytearray()
        self.frame = False
        self.overflow = False
        if overflow:
            out.append(("error", "line longer than %d bytes dropped (it began %s)"
                        % (self.max_line, quote(raw, 24))))
        elif frame:
            out.append(("frame", raw))
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeError:
                out.append(("error", "line is not UTF-8: %s" % quote(raw)))
                return
            out.append(("line", text))
