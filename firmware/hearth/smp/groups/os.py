"""Group 0, OS: echo, reset, MCUmgr parameters, OS/application info, datetime,
bootloader info."""
import datetime
import os
import platform

from .. import errors as E
from ..header import OP_READ, OP_WRITE
from ..server import SmpError, group_error

GROUP = 0
ECHO, DATETIME, RESET, PARAMS, INFO, BOOTLOADER = 0, 4, 5, 6, 7, 8
# `format` letters in uname order; `a` is all of them
INFO_LETTERS = "snrvbmpio"
DIRECT_XIP_WITH_REVERT = 5      # the closest MCUboot mode: slots run in place, a trial reverts
MAX_ECHO = 1024


def _iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _parse_iso(text):
    try:
        d = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SmpError(E.EINVAL, "datetime must be ISO 8601 like 2026-12-04T05:00:00, got %r" % text[:40]) from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)       # Zephyr's RTC has no zone: UTC
    return d.timestamp()


def register(server, info, wall=None):
    """info: {letter: text} for the `format` letters (missing ones read "unknown");
    wall: the app's wall clock (its set(t) makes the datetime writable)."""

    def echo(req):
        d = req.get("d", str, required=True)
        if len(d) > MAX_ECHO:
            raise SmpError(E.EMSGSIZE, "echo text longer than %d" % MAX_ECHO)
        return {"r": d}

    def reset(req):
        req.get("force", int, 0)
        if req.get("boot_mode", int, 0):
            raise SmpError(E.ENOTSUP, "boot_mode: Hearth has no serial-recovery boot mode")
        server.request_reset()
        return {}

    def params(req):
        return {"buf_size": server.buf_size, "buf_count": 1}

    def os_info(req):
        fmt = req.get("format", str, "s")
        letters = INFO_LETTERS if "a" in fmt else fmt
        bad = [c for c in letters if c not in INFO_LETTERS]
        if bad or not letters:
            raise group_error(E.OS_INVALID_FORMAT, "format letters are %s or a, got %r" % (INFO_LETTERS, fmt),
                              E.EINVAL)
        return {"output": " ".join(info.get(c, "unknown") for c in INFO_LETTERS if c in letters)}

    def clock(req):
        if wall is None:
            raise SmpError(E.ENOTSUP, "this device has no wall clock")
        if not req.write:
            return {"datetime": _iso(wall.now())}
        t = _parse_iso(req.get("datetime", str, required=True))
        if not hasattr(wall, "set"):
            raise SmpError(E.ENOTSUP, "the system clock is set by the OS (NTP), not over SMP")
        wall.set(t)
        return {}

    def bootloader(req):
        q = req.get("query", str, None)
        if q is None:
            return {"bootloader": "Hearth"}
        if q == "mode":
            return {"mode": DIRECT_XIP_WITH_REVERT, "no-downgrade": True}
        raise group_error(3, "unknown query %r (the one known is mode)" % q[:20], E.EINVAL)

    server.add(GROUP, ECHO, echo)
    server.add(GROUP, RESET, reset, (OP_WRITE,))
    server.add(GROUP, PARAMS, params, (OP_READ,))
    server.add(GROUP, INFO, os_info, (OP_READ,))
    server.add(GROUP, DATETIME, clock)
    server.add(GROUP, BOOTLOADER, bootloader, (OP_READ,))


def default_info(board="unknown", version="unknown", arch=None):
    from ... import __version__ as hearth_version
    u = platform.uname()
    return {"s": "Hearth", "n": u.node or board, "r": hearth_version, "v": version or "unknown",
            "b": "unknown", "m": arch or u.machine, "p": u.processor or u.machine, "i": board,
            "o": "Hearth/%s" % (os.uname().sysname if hasattr(os, "uname") else "unknown")}
