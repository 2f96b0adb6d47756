"""An SMP client over a host transport: framed requests on the console line,
answers matched by sequence number; console output between frames (log
records, a prompt) is skipped. Device error bodies become SmpDeviceError here,
in one place."""
import cbor2

from hearth.smp import framing
from hearth.smp.header import OP_READ, OP_WRITE, Header, V2

from ..errors import HearthError
from ..transport import TransportTimeout

DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 3
MAX_ANSWER = 1 << 16


class SmpDeviceError(HearthError):
    """The device answered with an SMP error: `.rc` (SMP level or the group's), `.group`."""

    exit_code = 1

    def __init__(self, group, command, rc, group_rc=None, reason=""):
        self.group = group
        self.command = command
        self.rc = rc
        self.group_rc = group_rc
        what = ("group %d error %d" % (group, group_rc)) if group_rc is not None else "SMP error %d" % rc
        HearthError.__init__(self, "device refused group %d command %d: %s%s" % (
            group, command, what, (" (%s)" % reason) if reason else ""))


class SmpClient:
    def __init__(self, transport, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES):
        self.transport = transport
        self.timeout = timeout
        self.retries = retries
        self.seq = 0
        self.sent_bytes = 0         # on the line, framing included (for the overhead figure)

    def request(self, group, command, body=None, write=True, timeout=None, retries=None):
        """The answer body (a dict); SmpDeviceError for an error body; a
        TransportTimeout after `retries` re-sends without an answer."""
        data = cbor2.dumps(body or {})
        self.seq = (self.seq + 1) & 0xFF
        pkt = Header(OP_WRITE if write else OP_READ, group, command, self.seq, len(data), V2).pack() + data
        line = framing.encode(pkt)
        tries = 1 + (self.retries if retries is None else retries)
        for attempt in range(tries):
            self.transport.write(line)
            self.sent_bytes += len(line)
            try:
                return self._answer(group, command, timeout)
            except TransportTimeout:
                if attempt == tries - 1:
                    raise

    def _answer(self, group, command, timeout):
        frames = framing.Reassembler(MAX_ANSWER)
        t = self.timeout if timeout is None else timeout
        while True:
            line = self.transport.read_until(b"\n", timeout=t).rstrip(b"\r\n")
            i = max(line.rfind(framing.START), line.rfind(framing.CONT))
            if i < 0:
                continue                    # console output: not ours
            try:
                pkt = frames.feed(line[i:])
            except framing.FrameError:
                frames.reset()
                continue
            if pkt is None:
                continue
            h = Header.unpack(pkt)
            if h.seq != self.seq or h.group != group or h.command != command:
                continue                    # a late answer to an earlier (re-sent) request
            body = cbor2.loads(pkt[8:]) if pkt[8:] else {}
            if not isinstance(body, dict):
                continue
            err = body.get("err")
            if isinstance(err, dict) and err.get("rc"):
                raise SmpDeviceError(group, command, err.get("rc"), err.get("rc"))
            if body.get("rc"):
                raise SmpDeviceError(group, command, body["rc"], None, body.get("rsn", ""))
            return body

    # -- the calls flash needs ------------------------------------------------------
    def params(self):
        return self.request(0, 6, write=False)

    def echo(self, text):
        return self.request(0, 0, {"d": text})["r"]

    def images(self):
        return self.request(1, 0, write=False).get("images", [])

    def test(self, digest):
        return self.request(1, 0, {"hash": digest, "confirm": False})

    def reset(self):
        return self.request(0, 5, {}, retries=0)
