"""SMP dispatch: packet in, packet out, by (group, command).

A handler is fn(request) -> response body (a dict), or a Deferred when the
work is long (hashing an upload, installing it): the server then runs the
Deferred's generator a slice at a time from poll(), the loop's service call,
and sends the answer when it returns. One request is served at a time, as
smpclient and smpmgr send them; another arriving meanwhile gets EBUSY.

Errors: a handler raises SmpError. A v1 request gets {"rc": n, "rsn": why};
a v2 request gets {"err": {"group": g, "rc": n}} for a group's error and
{"rc": n} for an SMP-level one (a malformed packet, an unknown command).
"""
import io
import time

import cbor2

from . import errors as E
from .header import OP_READ, OP_WRITE, SIZE, V1, V2, Header, HeaderError

BUF_SIZE = 2048          # the largest decoded frame (length + packet + CRC) the console takes
BUF_COUNT = 1            # requests served at a time
RESET_DELAY_S = 0.3      # reset: the answer goes out first (and is read), then the app stops


class SmpError(Exception):
    """rc: the SMP-level code (v1, and v2 without a group code);
    group_rc: the group's own code (v2 `err`), or None."""

    def __init__(self, rc, reason="", group_rc=None):
        Exception.__init__(self, reason)
        self.rc = rc
        self.reason = reason
        self.group_rc = group_rc


def group_error(group_rc, reason, v1_rc=E.EUNKNOWN):
    return SmpError(v1_rc, reason, group_rc)


def _bug(e):
    return SmpError(E.EUNKNOWN, "%s: %s (a bug; the device carries on)" % (type(e).__name__, str(e)[:80]))


class Deferred:
    """Long work: `job` is a generator whose next() does one bounded slice and
    whose return value is the response body (or which raises SmpError)."""

    def __init__(self, job):
        self.job = job


class Request:
    def __init__(self, header, body):
        self.header = header
        self.body = body

    @property
    def write(self):
        return self.header.op == OP_WRITE

    def get(self, key, kind, default=None, required=False):
        """body[key] checked against `kind` (a type or tuple of types); bool is not an int."""
        if key not in self.body:
            if required:
                raise SmpError(E.EINVAL, "request lacks %r" % key)
            return default
        v = self.body[key]
        if not isinstance(v, kind) or (isinstance(v, bool) and bool not in _as_tuple(kind)):
            raise SmpError(E.EINVAL, "%r must be %s, got %s" % (key, _kind_name(kind), type(v).__name__))
        return v


def _as_tuple(kind):
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind):
    return " or ".join(k.__name__ for k in _as_tuple(kind))


def decode_body(data):
    """The CBOR body as a dict (empty data: {}); SmpError(EINVAL) when it is not one map."""
    if not data:
        return {}
    f = io.BytesIO(bytes(data))
    try:
        body = cbor2.CBORDecoder(f).decode()
    except Exception as e:          # CBORDecodeError, and whatever a semantic tag's decoder raises
        raise SmpError(E.EINVAL, "body is not valid CBOR: %s" % str(e)[:80]) from None
    if f.tell() != len(data):
        raise SmpError(E.EINVAL, "body has %d bytes after its CBOR map" % (len(data) - f.tell()))
    if not isinstance(body, dict):
        raise SmpError(E.EINVAL, "body must be a CBOR map, got %s" % type(body).__name__)
    return body


def error_body(header, err):
    if header.version == V1 or err.group_rc is None:
        body = {"rc": err.rc}
        if header.version == V1 and err.reason:
            body["rsn"] = err.reason[:120]
        return body
    return {"err": {"group": header.group, "rc": err.group_rc}}


def response(header, body):
    data = cbor2.dumps(body)
    return header.response(len(data)).pack() + data


def error_packet(raw_header, err):
    """The error answer to a packet whose header is `raw_header` (None: unknown, v1 group 0)."""
    try:
        header = Header.unpack(raw_header) if raw_header else Header(OP_WRITE, 0, 0, 0, 0, V1)
    except HeaderError:
        header = Header(OP_WRITE, 0, 0, 0, 0, V1)
    if header.version > V2:
        header.version = V2
    return response(header, error_body(header, err))


class Server:
    """The SMP server; as a loop service (name "smp") it runs deferred work."""

    name = "smp"
    budget_s = 0.004

    def __init__(self, log=None, timer=time.perf_counter, buf_size=BUF_SIZE):
        self.handlers = {}          # (group, command) -> (fn, ops)
        self.log = log
        self.timer = timer
        self.buf_size = buf_size
        self.job = None             # [generator, header, send]
        self.reset_at = None
        self.on_reset = None        # fn(): what a reset does (the app stops: the launcher boots next)
        self.stats = {"rx": 0, "tx": 0, "errors": 0, "deferred": 0}

    def add(self, group, command, fn, ops=(OP_READ, OP_WRITE)):
        self.handlers[(group, command)] = (fn, ops)

    def request_reset(self):
        self.reset_at = self.timer() + RESET_DELAY_S

    def handle(self, packet, send, groups=None):
        """Serve one SMP packet; the answer goes to send(packet) now or from a later poll().
        groups: the group ids this transport may use (None: all)."""
        self.stats["rx"] += 1
        try:
            header = Header.unpack(packet)
        except HeaderError as e:
            self._send_error(send, None, SmpError(E.EINVAL, str(e)))
            return
        try:
            if groups is not None and header.group not in groups:
                raise SmpError(E.EACCESSDENIED, "group %d is not served on this transport (use the console)"
                               % header.group)
            out = self._dispatch(header, packet)
        except SmpError as e:
            self._send_error(send, packet[:SIZE], e)
            return
        except Exception as e:      # a handler's bug: an answer, never a crash of the loop
            self._send_error(send, packet[:SIZE], _bug(e))
            return
        if isinstance(out, Deferred):
            self.stats["deferred"] += 1
            self.job = [out.job, header, send]
            return
        self._send(send, header, out)

    def _dispatch(self, header, packet):
        if header.version > V2:
            raise SmpError(E.UNSUPPORTED_TOO_NEW, "SMP version %d is newer than this server's 2"
                           % (header.version + 1))
        if header.op not in (OP_READ, OP_WRITE):
            raise SmpError(E.EINVAL, "op %d is not a request (read 0 or write 2)" % header.op)
        if header.length != len(packet) - SIZE:
            raise SmpError(E.EINVAL, "header says %d body bytes, the packet has %d"
                           % (header.length, len(packet) - SIZE))
        entry = self.handlers.get((header.group, header.command))
        if entry is None:
            raise SmpError(E.ENOTSUP, "group %d command %d is not supported" % (header.group, header.command))
        fn, ops = entry
        if header.op not in ops:
            raise SmpError(E.ENOTSUP, "group %d command %d has no %s" % (
                header.group, header.command, "read" if header.op == OP_READ else "write"))
        if self.job is not None:
            raise SmpError(E.EBUSY, "busy with the previous request; retry")
        return fn(Request(header, decode_body(packet[SIZE:])))

    def _send(self, send, header, body):
        pkt = response(header, body)
        if len(pkt) + 4 > self.buf_size:
            pkt = response(header, error_body(header, SmpError(E.EMSGSIZE, "answer larger than the buffer")))
        self.stats["tx"] += 1
        send(pkt)

    def _send_error(self, send, raw_header, err):
        self.stats["errors"] += 1
        self.stats["tx"] += 1
        if self.log is not None:
            self.log("smp: %s" % (err.reason or "error %d" % err.rc))
        send(error_packet(raw_header, err))

    def send_frame_error(self, send, err):
        """A frame that never became a packet (the transport's FrameError)."""
        self.stats["rx"] += 1
        self._send_error(send, getattr(err, "header", None), SmpError(err.code, str(err)))

    def busy(self):
        return self.job is not None

    def poll(self, now=None, budget=0.004):
        """Run slices of the deferred request until `budget` is spent; fire a due reset."""
        if self.job is not None:
            gen, header, send = self.job
            t0 = self.timer()
            while True:
                try:
                    next(gen)
                except StopIteration as stop:
                    self.job = None
                    self._send(send, header, stop.value or {})
                    break
                except Exception as e:
                    self.job = None
                    self._send_error(send, header.pack(), e if isinstance(e, SmpError) else _bug(e))
                    break
                if self.timer() - t0 >= budget * 0.5:
                    break
        if self.reset_at is not None and self.timer() >= self.reset_at:
            self.reset_at = None
            if self.on_reset is not None:
                self.on_reset()
