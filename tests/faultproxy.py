"""A fault-injecting TCP proxy on loopback (this kernel has no netem).

    proxy = FaultProxy(upstream_port, seed=1234, faults=("reset", "cut"), p=0.5)
    base = proxy.start()                 # "http://127.0.0.1:PORT/"
    ...
    proxy.stop()

Every accepted connection is forwarded to the upstream port. Faults act on
the downstream direction (server -> client), at a byte offset counted from
the start of that connection's response:

  latency   seconds added before each forwarded piece (all connections)
  rate      bandwidth cap in bytes/s (all connections; None = uncapped)
  reset     forward `at` bytes, then close with RST (SO_LINGER 0)
  cut       forward `at` bytes, then close cleanly (FIN) mid-transfer
  stall     forward `at` bytes, then nothing until the client gives up
  truncate  drop `span` bytes at `at` and forward the rest (a response
            shorter than it says, with the wrong bytes after the hole)
  corrupt   flip one byte at `at` (an XOR with a non-zero seeded value)

Each new connection draws its plan from one random.Random(seed): with
probability `p` a fault kind from `faults` at an offset uniform in `at`
(bytes; a fault past the end of a response does not fire), until
`max_faults` faults have fired. The same seed and the same sequence of
connections replay the same faults; `events` records those that fired.
`set(...)` changes the settings for later connections (and the rate at once).
"""
import random
import socket
import struct
import threading
import time

KINDS = ("reset", "cut", "stall", "truncate", "corrupt")


class FaultProxy:
    def __init__(self, upstream_port, seed, faults=(), p=0.0, at=(512, 1 << 20), span=4096,
                 latency=0.0, rate=None, max_faults=None, upstream_host="127.0.0.1"):
        bad = set(faults) - set(KINDS)
        if bad:
            raise ValueError("unknown faults %s: use %s" % (sorted(bad), ", ".join(KINDS)))
        self.upstream = (upstream_host, upstream_port)
        self.seed = seed
        self.rng = random.Random(seed)
        self.cfg = {"faults": tuple(faults), "p": p, "at": at, "span": span, "latency": latency,
                    "rate": rate, "max_faults": max_faults}
        self.events = []                 # faults that fired: (connection number, kind, at)
        self.connections = 0
        self.down_bytes = 0
        self.up_bytes = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socks = set()
        self._threads = []
        self._listener = None

    def __repr__(self):
        return "FaultProxy(seed=%d, %s)" % (self.seed, self.cfg)

    def set(self, **kw):
        with self._lock:
            for k in kw:
                if k not in self.cfg:
                    raise ValueError("unknown setting %r" % k)
            self.cfg.update(kw)

    def start(self):
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, name="faultproxy-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return "http://127.0.0.1:%d/" % self.port

    def stop(self):
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            _close(s)
        for t in self._threads:
            t.join(5)

    # -- plumbing --------------------------------------------------------
    def _plan(self):
        with self._lock:
            c = self.cfg
            n = self.connections
            self.connections += 1
            injected = len(self.events)
            if c["faults"] and (c["max_faults"] is None or injected < c["max_faults"]) \
                    and self.rng.random() < c["p"]:
                kind = self.rng.choice(c["faults"])
                at = self.rng.randint(*c["at"])
                return {"kind": kind, "at": at, "span": c["span"], "xor": self.rng.randint(1, 255), "conn": n}
            return {"kind": None}

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                down, _addr = self._listener.accept()
            except OSError:
                return
            plan = self._plan()
            try:
                up = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(down)
                continue
            up.settimeout(None)
            with self._lock:
                self._socks |= {up, down}
            for target, args in ((self._pump_up, (down, up)), (self._pump_down, (up, down, plan))):
                t = threading.Thread(target=target, args=args, daemon=True)
                t.start()
                self._threads.append(t)

    def _pump_up(self, down, up):
        try:
            while not self._stop.is_set():
                data = down.recv(16384)
                if not data:
                    break
                up.sendall(data)
                with self._lock:
                    self.up_bytes += len(data)
        except OSError:
            pass
        _shutdown(up)

    def _pump_down(self, up, down, plan):
        off = 0                   # bytes of the response seen from upstream
        skip = 0                  # bytes still to drop (truncate)
        kind = plan["kind"]
        try:
            while not self._stop.is_set():
                data = up.recv(16384)
                if not data:
                    break
                if kind is not None and off <= plan["at"] < off + len(data):
                    k = plan["at"] - off
                    with self._lock:
                        self.events.append((plan["conn"], kind, plan["at"]))
                    if kind == "corrupt":
                        data = data[:k] + bytes([data[k] ^ plan["xor"]]) + data[k + 1:]
                    elif kind == "truncate":
                        self._send(down, data[:k])
                        off, data, skip = off + k, data[k:], plan["span"]
                    else:
                        self._send(down, data[:k])
                        self._fault(kind, down)
                        return
                    kind = None
                off += len(data)
                if skip:
                    dropped = min(skip, len(data))
                    data, skip = data[dropped:], skip - dropped
                self._send(down, data)
        except OSError:
            pass
        finally:
            _close(up)
            _shutdown(down)

    def _fault(self, kind, down):
        # shutdown first: it wakes the other pump's recv at once, and the
        # socket is really closed (FIN, or RST with linger 0) only after that
        if kind == "reset":
            down.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            _shutdown(down, socket.SHUT_RD)
            _close(down)
        elif kind == "cut":
            _shutdown(down, socket.SHUT_RDWR)
            _close(down)
        elif kind == "stall":
            while not self._stop.wait(0.05):
                try:                                  # until the client hangs up
                    down.setblocking(False)
                    if down.recv(1) == b"":
                        break
                except BlockingIOError:
                    continue
                except OSError:
                    break
            _close(down)

    def _send(self, sock, data):
        view = memoryview(data)
        while view:
            with self._lock:
                rate, latency = self.cfg["rate"], self.cfg["latency"]
            piece = len(view) if not rate else max(1, int(rate * 0.05))
            if latency:
                time.sleep(latency)
            sock.sendall(view[:piece])
            with self._lock:
                self.down_bytes += min(piece, len(view))
            if rate:
                time.sleep(min(piece, len(view)) / float(rate))
            view = view[piece:]
            if self._stop.is_set():
                return


def _shutdown(s, how=socket.SHUT_WR):
    try:
        s.shutdown(how)
    except OSError:
        pass


def _close(s):
    try:
        s.close()
    except OSError:
        pass
