"""Host transports: links to a device that only move bytes.

    open_transport("/dev/ttyUSB0")           # a UART (pyserial), baud=115200 by default
    open_transport("socket://127.0.0.1:5555") # raw TCP, or any other pyserial URL (rfc2217://, loop://)
    open_transport("tcp:127.0.0.1:5555")      # the same (the device console prints its listener so)
    open_transport("pty:/dev/pts/5")         # a pseudo-terminal, e.g. a running `hearth sim`
    open_transport("sim:")                   # start a sim board (`sim:BOARD` for another sim board)

The operations over a transport live in hearth_tools.device; docs/TRANSPORTS.md
says how to add a transport.
"""
from ..errors import UsageError
from .base import DEFAULT_TIMEOUT, DeviceUnreachable, Transport, TransportError, TransportTimeout
from .pty import PtyTransport
from .serial import DEFAULT_BAUD, SerialTransport
from .sim import SimTransport

__all__ = ["DEFAULT_BAUD", "DEFAULT_TIMEOUT", "DeviceUnreachable", "PtyTransport", "SerialTransport",
           "SimTransport", "SPEC_HELP", "Transport", "TransportError", "TransportTimeout",
           "open_transport", "transport_for"]


def _sim(rest, **options):
    return SimTransport(board=rest or "sim", **options)


def _tcp(rest, **options):
    # the device console's own name for its TCP listener (hearth.console TcpTransport)
    return SerialTransport("socket://" + rest, **options)


def _pty(rest, **options):
    if not rest:
        raise UsageError("pty: needs a path, e.g. pty:/dev/pts/5")
    return PtyTransport(rest, **options)


# spec prefix -> factory(rest_of_spec, **options); anything else is a pyserial port or URL
PREFIXES = (
    ("sim:", _sim),
    ("pty:", _pty),
    ("tcp:", _tcp),
)
SPEC_HELP = "a serial port (/dev/ttyUSB0), socket://HOST:PORT (or tcp:HOST:PORT), pty:PATH or sim:[BOARD]"


def transport_for(spec, **options):
    """The transport `spec` names, not yet open. `options` go to its constructor
    (timeout= for all; baud= for serial ports; storage=, start_timeout= ... for sim:)."""
    if not spec:
        raise UsageError("no device given: use %s" % SPEC_HELP)
    for prefix, factory in PREFIXES:
        if spec.startswith(prefix):
            return factory(spec[len(prefix):], **options)
    if ":" in spec and "://" not in spec and not spec.startswith("/"):
        raise UsageError("unknown device %r: use %s" % (spec, SPEC_HELP))
    return SerialTransport(spec, **options)


def open_transport(spec, **options):
    """The transport `spec` names, opened (close it, or use it in a `with`)."""
    return transport_for(spec, **options).open()
