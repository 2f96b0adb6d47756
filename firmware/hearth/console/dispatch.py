"""The console service: transport -> line discipline -> shell or frame hook.

poll(now, budget) is the loop's entry, like any service it hosts: it reads
what arrived, runs queued lines until `budget` seconds are spent (always at
least one, so a flood is served in order rather than starving), writes what
it can and returns whether work is left. Nothing in it blocks or raises
into the loop: the shell turns every failure into a reply, a frame hook
that fails is counted, output nobody reads is dropped past a bound.

SMP frames (0x06 0x09 / 0x04 0x14 lines) go to `frame_handler(frame) ->
reply bytes or None`: the hook the SMP server (hearth.smp) plugs into; an
answer it has later goes out through send_bytes. Without a hook frames
are counted (`smp_frames`) and ignored, so a host tool probing for SMP never
confuses the shell.
"""
import time

from ..core.linedisc import LineDiscipline
from ..core.log import format_record
from ..core.shell import printable

READ_BYTES = 1024           # per poll: a paste is taken in slices
MAX_PENDING = 64            # lines waiting for budget; past this the transport is not read
OUT_MAX = 64 * 1024         # output waiting for a slow reader; past this it is dropped
DEFAULT_BUDGET_S = 0.010    # a tenth of a 100 ms block


def terminal_text(text):
    """Text as bytes for a terminal: controls escaped (output may carry what
    someone typed, a file name, a model's label), newlines as CRLF."""
    return printable(text, keep="\n\t").replace("\n", "\r\n").encode("utf-8", "backslashreplace")


class Console:
    def __init__(self, transport, shell, frame_handler=None, prompt="hearth> ", echo=None,
                 timer=time.perf_counter):
        self.transport = transport
        self.shell = shell
        self.frame_handler = frame_handler
        self.prompt = prompt
        self.timer = timer
        echo = transport.interactive if echo is None else echo
        self.disc = LineDiscipline(echo=self._send if echo else None)
        self.session = transport.session
        self.pending = []           # lines and frames read, not yet run
        self.out = bytearray()
        self.dropped = 0            # output bytes dropped: nobody reading fast enough
        self.lines = 0
        self.smp_frames = 0
        self.frame_errors = 0
        self.prompted = False       # the terminal's last line is the prompt (and what is typed)

    @property
    def path(self):
        return self.transport.path

    # -- output --------------------------------------------------------------------------
    def _send(self, data):
        room = OUT_MAX - len(self.out)
        if len(data) > room:
            self.dropped += len(data) - max(room, 0)
            data = data[:max(room, 0)]
        self.out += data
        self._flush()

    def _flush(self):
        while self.out:
            n = self.transport.write(bytes(self.out))
            if n <= 0:
                return
            del self.out[:n]

    def send_bytes(self, data):
        """Raw bytes out (an SMP answer sent from a later turn)."""
        self._send(bytes(data))

    def write(self, text):
        self._send(terminal_text(text))

    def log_sink(self, t, level, module, msg):
        """A log record; on a terminal it goes above the prompt and the half-typed
        line, which are redrawn (CR and erase-line: any VT100, screen, picocom)."""
        text = terminal_text(format_record((t, level, module, msg)) + "\n")
        if self.prompted and self.disc.echo is not None:
            text = b"\r\x1b[K" + text + terminal_text(self.prompt) + self.disc.shown()
        self._send(text)

    # -- the service ---------------------------------------------------------------------
    def poll(self, now=None, budget=None):
        """Serve the console for up to `budget` seconds (default DEFAULT_BUDGET_S).
        Never blocks; returns True while lines are still queued."""
        start = self.timer()
        budget = DEFAULT_BUDGET_S if budget is None else budget
        if self.transport.session != self.session:
            self.session = self.transport.session       # a new client: no half line from the last
            self.disc.reset()
            self.pending = []
        if len(self.pending) < MAX_PENDING:
            data = self.transport.read(READ_BYTES)
            if data:
                events = self.disc.feed(data)
                if events:
                    self.prompted = False       # the line end was echoed: the reply comes next
                    self.pending.extend(events)
        done = 0
        while self.pending and (done == 0 or self.timer() - start < budget):
            self._dispatch(self.pending.pop(0))
            done += 1
        self._flush()
        return bool(self.pending)

    def _reply(self, text):
        self.write(text + self.prompt)
        self.prompted = True

    def _dispatch(self, event):
        kind, item = event
        if kind == "line":
            self.lines += 1
            ok, out = self.shell.execute(item)
            self._reply(out + "\n" if out else "")
        elif kind == "frame":
            self.smp_frames += 1
            if self.frame_handler is None:
                return
            try:
                reply = self.frame_handler(item)
            except Exception:           # the SMP server's fault, not the loop's
                self.frame_errors += 1
                return
            if reply:
                self._send(bytes(reply))
        elif kind == "cancel":
            self._reply("")
        else:
            self._reply("error: %s\n" % item)

    def close(self):
        self.transport.close()
