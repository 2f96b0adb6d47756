"""Serial console: a line shell on a pty (sim), a UART (real boards) or TCP (tests).

Three layers, each only doing its part: a transport moves bytes
(transport.py); the line discipline makes them lines and SMP frames, with
echo and editing for a terminal (hearth.core.linedisc, portable); the
console service runs lines on the shell and passes frames to a hook
(dispatch.py). The commands themselves are commands.py over an App.
docs/CONSOLE.md describes what a user sees.
"""
from .commands import make_shell
from .dispatch import Console
from .transport import PtyTransport, SerialTransport, TcpTransport

__all__ = ["Console", "PtyConsole", "PtyTransport", "SerialTransport", "TcpTransport", "make_shell"]


class PtyConsole(Console):
    """The shell on a pseudo-terminal; `path` is what a terminal program opens.
    `smp_handler` is the frame hook (see Console)."""

    def __init__(self, shell, smp_handler=None, prompt="hearth> ", **kw):
        Console.__init__(self, PtyTransport(), shell, frame_handler=smp_handler, prompt=prompt, **kw)
