"""Downloads for the OTA client: bounded in time and bytes, resumable across power cuts.

Three pieces, all on one small non-blocking HTTP/1.1 GET (`HttpGet`: plain
sockets, polled; a poll never waits longer than it is told, so the appliance
loop can drive a download in slices):

  HearthFetcher        tuf.ngclient.FetcherInterface for metadata (and small
                       targets): streams, resumes a broken body in memory with
                       `Range`, gives up on slow retrieval.
  ResumableDownload    a target of known length and hashes (from the signed
                       TUF targets metadata) into storage, in slices
                       (`step(budget_bytes)`), kept across reboots and power
                       cuts as segment files plus a progress record, resumed
                       with `Range: bytes=N-`, and checked against the length
                       and hashes before anything is handed on.
  DecompressingWriter  a zstd or xz stream decompressed as it arrives, with a
                       bound on the output (and DecompressingReader, the same
                       as a file-like for Launcher.install).

Bounds (class Bounds; defaults in docs/UPDATES.md, part 2): a transfer is abandoned
when no byte arrived for `stall_timeout` seconds, or when fewer than
`min_rate` bytes per second arrived averaged over the last `rate_window`
seconds (checked once the transfer is that old). A download never accepts
more bytes than the target declares.

Only http:// is spoken: TUF signs everything that matters, so the transport
needs no integrity of its own. Host names are resolved with a blocking
getaddrinfo; connect, send and receive are non-blocking.
"""
import collections
import errno
import hashlib
import json
import lzma
import select
import socket
import time
from urllib.parse import urljoin, urlsplit

from tuf.api import exceptions as tuf_exc
from tuf.ngclient import FetcherInterface

CHUNK = 64 * 1024           # commit unit of a ResumableDownload: what a cut can cost
MAX_HEAD = 16 * 1024        # response status line + headers
MAX_REDIRECTS = 5
RECORD_FORMAT = 1
DECODER_MEMORY = 16 << 20   # zstd window / xz decoder memory; zstd -19 and xz -6 (8 MiB dictionaries) fit


class Bounds:
    """When a transfer is too slow to go on with (seconds, bytes per second)."""

    def __init__(self, stall_timeout=20.0, min_rate=2048, rate_window=60.0,
                 connect_timeout=10.0, retry_delay=5.0, max_retry_delay=300.0):
        self.stall_timeout = stall_timeout
        self.min_rate = min_rate
        self.rate_window = rate_window
        self.connect_timeout = connect_timeout
        self.retry_delay = retry_delay              # after an error; doubles per consecutive error
        self.max_retry_delay = max_retry_delay

    def retry_after(self, errors):
        return min(self.max_retry_delay, self.retry_delay * (2 ** max(0, errors - 1)))


class RateGuard:
    """Raises SlowRetrievalError when a transfer stalls or trickles.

    The whole transfer's bytes are noted; the average over the last
    `rate_window` seconds is checked once the transfer is that old, so a
    trickle is given up at most `rate_window` seconds after it starts, a stall
    `stall_timeout` seconds after the last byte.
    """

    def __init__(self, bounds, clock=time.monotonic):
        self.bounds = bounds
        self.clock = clock
        self.start = self.last = clock()
        self.total = 0
        self._samples = collections.deque([(self.start, 0)])

    def note(self, nbytes):
        if nbytes:
            self.last = self.clock()
            self.total += nbytes
            self._samples.append((self.last, self.total))

    def check(self):
        b = self.bounds
        now = self.clock()
        if now - self.last >= b.stall_timeout:
            raise tuf_exc.SlowRetrievalError(
                "no data for %.1f s (stall timeout %.1f s); will resume later" % (now - self.last, b.stall_timeout))
        if now - self.start < b.rate_window:
            return
        edge = now - b.rate_window
        while len(self._samples) > 1 and self._samples[1][0] <= edge:
            self._samples.popleft()
        got = self.total - self._samples[0][1]
        if got < b.min_rate * b.rate_window:
            raise tuf_exc.SlowRetrievalError(
                "%.0f B/s over the last %.0f s, below the minimum %d B/s; will resume later"
                % (got / b.rate_window, b.rate_window, b.min_rate))


class HttpGet:
    """One GET on its own non-blocking socket (Connection: close).

    poll(max_bytes, wait) advances connect -> send -> head -> body and returns
    body bytes (b"" when none arrived within `wait` seconds). Network errors,
    a body cut short of its Content-Length, and slow retrieval raise tuf
    DownloadError subclasses; `status`/`headers` are set once the head is in.
    """

    def __init__(self, url, headers=(), bounds=None, clock=time.monotonic, guard=None):
        self.url = url
        self.bounds = bounds or Bounds()
        self.clock = clock
        self.guard = guard or RateGuard(self.bounds, clock)
        self.status = None
        self.headers = {}
        self.body_left = None            # Content-Length remaining, None = until close
        self.done = False
        self.wire_in = 0                 # bytes received (head and body)
        self.wire_out = 0
        self._buf = b""
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise tuf_exc.DownloadError("unsupported URL %r: the OTA client speaks http://host[:port]/path" % url)
        port = parts.port or 80
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        lines = ["GET %s HTTP/1.1" % path, "Host: %s" % parts.netloc, "Connection: close",
                 "Accept-Encoding: identity", "User-Agent: hearth-ota"]
        lines += ["%s: %s" % kv for kv in headers]
        self._out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            family, kind, proto, _c, addr = socket.getaddrinfo(parts.hostname, port, 0, socket.SOCK_STREAM)[0]
            self.sock = socket.socket(family, kind, proto)
            self.sock.setblocking(False)
            err = self.sock.connect_ex(addr)
        except OSError as e:
            raise tuf_exc.DownloadError("cannot connect to %s: %s" % (parts.netloc, e)) from None
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            self.close()
            raise tuf_exc.DownloadError("cannot connect to %s: %s" % (parts.netloc, errno.errorcode.get(err, err)))
        self._state = "connect"
        self._connect_start = clock()

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def header(self, name):
        return self.headers.get(name.lower())

    def poll(self, max_bytes, wait=0.0):
        end = self.clock() + wait
        try:
            while not self.done:
                if self._state == "body" and (self._buf or max_bytes <= 0):
                    return self._take(max_bytes)
                self._check_bounds()
                if not self._advance(max_bytes, max(0.0, end - self.clock())):
                    if self.clock() >= end:
                        return b""
        except OSError as e:
            self.close()
            raise tuf_exc.DownloadError("network error on %s: %s" % (self.url, e)) from None
        return b""

    def _check_bounds(self):
        if self._state == "connect":
            if self.clock() - self._connect_start >= self.bounds.connect_timeout:
                self.close()
                raise tuf_exc.SlowRetrievalError("no connection within %.1f s" % self.bounds.connect_timeout)
        else:
            try:
                self.guard.check()
            except tuf_exc.SlowRetrievalError:
                self.close()
                raise

    def _advance(self, max_bytes, wait):
        """One step of the state machine; False when nothing was ready in `wait`."""
        if self._state in ("connect", "send"):
            _r, w, _x = select.select([], [self.sock], [], wait)
            if not w:
                return False
            if self._state == "connect":
                err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, "connect failed")
                self._state = "send"
            n = self.sock.send(self._out)
            self.wire_out += n
            self._out = self._out[n:]
            if not self._out:
                self._state = "head"
            return True
        r, _w, _x = select.select([self.sock], [], [], wait)
        if not r:
            return False
        want = MAX_HEAD if self._state == "head" else max(1, max_bytes)
        if self.body_left is not None:
            want = min(want, max(1, self.body_left)) if self._state == "body" else want
        data = self.sock.recv(want)
        self.wire_in += len(data)
        self.guard.note(len(data))
        if not data:
            self._eof()
            return True
        self._buf += data
        if self._state == "head":
            self._parse_head()
        return True

    def _eof(self):
        self.close()
        if self._state == "head":
            raise tuf_exc.DownloadError("%s: connection closed before the response headers" % self.url)
        if self.body_left:
            raise tuf_exc.DownloadError("%s: connection closed with %d bytes of the body missing"
                                        % (self.url, self.body_left))
        self.done = True

    def _parse_head(self):
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > MAX_HEAD:
                raise tuf_exc.DownloadError("%s: response headers longer than %d bytes" % (self.url, MAX_HEAD))
            return
        head, self._buf = self._buf[:end].decode("latin-1"), self._buf[end + 4:]
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise tuf_exc.DownloadError("%s: not an HTTP/1.x response: %r" % (self.url, lines[0][:80]))
        self.status = int(parts[1])
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                key = name.strip().lower()
                value = value.strip()
                self.headers[key] = self.headers[key] + ", " + value if key in self.headers else value
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            raise tuf_exc.DownloadError("%s: chunked responses are not supported; serve the repository as "
                                        "static files (with Content-Length)" % self.url)
        length = self.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise tuf_exc.DownloadError("%s: bad Content-Length %r" % (self.url, length))
            self.body_left = int(length)
        self._state = "body"
        if self.body_left == 0:
            self.close()
            self.done = True

    def _take(self, max_bytes):
        data, self._buf = self._buf[:max_bytes], self._buf[max_bytes:]
        if self.body_left is not None:
            if len(data) > self.body_left:           # the server sent past its own length
                data = data[:self.body_left]
                self._buf = b""
            self.body_left -= len(data)
            if self.body_left == 0:
                self.close()
                self.done = True
        return data

    def wait_head(self):
        """Poll until the head is in (blocking use); the bounds end a silent server."""
        while self.status is None and not self.done:
            self.poll(0, 0.5)
        return self.status


def _http_error(get):
    return tuf_exc.DownloadHTTPError("%s: HTTP %d" % (get.url, get.status), get.status)


def _validators(get):
    return get.header("etag"), get.header("last-modified")


def _content_range(get):
    """(first byte, complete length or None) of a 206, or raise."""
    value = get.header("content-range") or ""
    try:
        unit, _sp, rest = value.partition(" ")
        span, _sl, total = rest.partition("/")
        first = int(span.split("-")[0])
        if unit != "bytes":
            raise ValueError
        return first, None if total == "*" else int(total)
    except ValueError:
        raise tuf_exc.DownloadError("%s: bad Content-Range %r in a 206" % (get.url, value)) from None


class HearthFetcher(FetcherInterface):
    """ngclient's network layer: bounded, resumes a broken body with Range.

    A body that breaks after some bytes is continued with `Range: bytes=N-`
    and `If-Range` (up to `max_resumes` times per file); a reply that is not
    the same file any more raises, and ngclient's own length and hash checks
    cover the stitched stream. `stats` counts requests, bytes on the wire and
    resumes, for the client's metrics.
    """

    def __init__(self, bounds=None, chunk=CHUNK, max_resumes=3, clock=time.monotonic):
        self.bounds = bounds or Bounds()
        self.chunk = chunk
        self.max_resumes = max_resumes
        self.clock = clock
        self.stats = {"requests": 0, "wire_in": 0, "wire_out": 0, "body": 0, "resumes": 0}

    def _get(self, url, headers=()):
        for _ in range(MAX_REDIRECTS + 1):
            get = HttpGet(url, headers, self.bounds, self.clock)
            self.stats["requests"] += 1
            try:
                get.wait_head()
            finally:
                self._count(get)
            if get.status in (301, 302, 303, 307, 308) and get.header("location"):
                get.close()
                url = urljoin(url, get.header("location"))
                continue
            if get.status >= 400:
                get.close()
                raise _http_error(get)
            return get
        raise tuf_exc.DownloadError("%s: more than %d redirects" % (url, MAX_REDIRECTS))

    def _count(self, get):
        self.stats["wire_in"] += get.wire_in
        self.stats["wire_out"] += get.wire_out
        get.wire_in = get.wire_out = 0

    def _fetch(self, url):
        get = self._get(url)          # HTTP errors raise here, before any byte is yielded
        if get.status != 200:
            get.close()
            raise tuf_exc.DownloadError("%s: unexpected HTTP %d" % (url, get.status))
        return self._chunks(url, get)

    def _chunks(self, url, get):
        got, resumes = 0, 0
        first = _validators(get)
        try:
            while True:
                try:
                    data = get.poll(self.chunk, wait=0.5)
                except tuf_exc.SlowRetrievalError:
                    raise
                except tuf_exc.DownloadError:
                    self._count(get)
                    if got == 0 or resumes >= self.max_resumes or first == (None, None):
                        raise
                    resumes += 1
                    self.stats["resumes"] += 1
                    get = self._resume(url, got, first)
                    continue
                self._count(get)
                if data:
                    got += len(data)
                    self.stats["body"] += len(data)
                    yield data
                elif get.done:
                    return
        finally:
            get.close()

    def _resume(self, url, got, first):
        etag, modified = first
        headers = [("Range", "bytes=%d-" % got), ("If-Range", etag or modified)]
        get = self._get(url, headers)
        if get.status != 206 or _content_range(get)[0] != got or _validators(get) != first:
            get.close()
            raise tuf_exc.DownloadError("%s changed while it was downloaded (HTTP %d on resume); "
                                        "the next refresh starts over" % (url, get.status))
        return get


class DownloadFailed(Exception):
    """The download cannot complete as it is (the file on the server is not the signed target)."""


class ResumableDownload:
    """One TUF target into storage under `name/`, in bounded slices.

    Storage layout (all names under `name/`):
        progress.json     the record: url, length, hashes, the validators
                          (ETag, Last-Modified) and the committed segments
                          [[file, bytes], ...]; replaced atomically
                          (write-new, fsync, rename, fsync the directory)
        seg-NNNN.part     downloaded bytes; a segment only grows, and only its
                          recorded prefix counts. Each boot starts a new
                          segment (storage files are written from the start).
    A chunk is committed by write + fsync of the segment, then the record:
    a cut loses at most the chunk being committed.

    step(budget_bytes, wait=0) moves at most budget_bytes and waits at most
    `wait` seconds for the network; it returns the state:
        "fetching"  more to do (call again)
        "waiting"   backing off after an error or a slow server (retry_at)
        "done"      all bytes in, length and hashes verified: reader()
        "failed"    the server keeps serving a file that does not match
                    (last_error says why); the partial has been discarded
    """

    def __init__(self, storage, name, url, length, hashes, chunk=CHUNK, bounds=None,
                 clock=time.monotonic, max_hash_failures=2):
        if not hashes:
            raise ValueError("a target download needs the signed hashes")
        for algo in hashes:
            hashlib.new(algo)                            # unknown algorithm: refuse up front
        self.storage = storage
        self.name = name.strip("/")
        self.url = url
        self.length = int(length)
        self.hashes = dict(hashes)
        self.chunk = chunk
        self.bounds = bounds or Bounds()
        self.clock = clock
        self.max_hash_failures = max_hash_failures
        self.state = "fetching"
        self.last_error = None
        self.last_exc = None                             # the exception behind last_error
        self.retry_at = 0.0
        self.errors = 0                                  # consecutive
        self.stats = {"requests": 0, "wire_in": 0, "wire_out": 0, "received": 0, "discarded": 0,
                      "resumes": 0, "restarts": 0, "hash_failures": 0, "slow": 0}
        self._get = None
        self._redirects = 0
        self._seg = None                                 # [handle, index] of the segment being written
        self._pending = b""
        self._load()

    @classmethod
    def for_target(cls, storage, name, url, targetinfo, **kw):
        """From a tuf TargetFile (get_targetinfo()): its length and hashes."""
        return cls(storage, name, url, targetinfo.length, targetinfo.hashes, **kw)

    # -- the record ------------------------------------------------------
    @property
    def _record_name(self):
        return self.name + "/progress.json"

    def _segname(self, i):
        return "%s/seg-%04d.part" % (self.name, i)

    def _fresh(self):
        self.etag = self.modified = None
        self.segments = []
        self.hash_failures = 0
        # running digests of the committed bytes; after a reboot they are
        # rebuilt from storage in bounded slices (_catchup) before new bytes
        self._digests = {algo: hashlib.new(algo) for algo in self.hashes}
        self._hashed = 0
        self._catchup = None

    def _load(self):
        self._fresh()
        st = self.storage
        if st.exists(self._record_name):
            try:
                self._adopt(json.loads(st.read(self._record_name)))
            except (OSError, ValueError, TypeError, AttributeError):
                self._fresh()                             # unreadable: start over, lose only the partial
        self._tidy()
        if self.hash_failures >= self.max_hash_failures:
            self.state = "failed"
            self.last_error = "the server's file did not match the signed target %d times" % self.hash_failures

    def _adopt(self, rec):
        if (rec.get("format") != RECORD_FORMAT or rec.get("url") != self.url
                or rec.get("length") != self.length or rec.get("hashes") != self.hashes):
            return                                        # another target's partial: _tidy drops it
        self.etag, self.modified = rec.get("etag"), rec.get("last_modified")
        self.hash_failures = int(rec.get("hash_failures", 0))
        st = self.storage
        for i, (seg, n) in enumerate(rec.get("segments", [])):
            if seg != self._segname(i) or not isinstance(n, int) or n < 0 \
                    or not st.exists(seg) or st.size(seg) < n:
                break                                     # damaged: keep the good prefix
            self.segments.append([seg, n])
        if self.have > self.length:
            self._fresh()
        elif self.segments:
            self._catchup = self.chunks()

    def _tidy(self):
        """Remove files of ours the record does not name (left by a cut)."""
        keep = {s for s, _n in self.segments} | {self._record_name}
        for f in sorted(self.storage.listdir(self.name)):
            full = self.name + "/" + f
            if full not in keep:
                self.storage.remove(full)

    def _save(self):
        rec = {"format": RECORD_FORMAT, "url": self.url, "length": self.length, "hashes": self.hashes,
               "etag": self.etag, "last_modified": self.modified, "hash_failures": self.hash_failures,
               "segments": self.segments}
        self.storage.write_atomic(self._record_name, json.dumps(rec, sort_keys=True).encode())

    @property
    def have(self):
        """Bytes committed to storage."""
        return sum(n for _s, n in self.segments)

    def _commit(self):
        if not self._pending:
            return
        st = self.storage
        if self._seg is None:
            i = len(self.segments)
            self._seg = [st.open_write(self._segname(i)), i]
            self.segments.append([self._segname(i), 0])
        h = self._seg[0]
        try:
            st.write(h, self._pending)
            st.fsync(h)
        except BaseException:
            self._close_seg()          # the file may hold part of this write: never append after it
            raise
        self.segments[-1][1] += len(self._pending)
        for d in self._digests.values():
            d.update(self._pending)
        self._hashed += len(self._pending)
        self._pending = b""
        self._save()

    def _close_seg(self):
        if self._seg is not None:
            self.storage.close(self._seg[0])
            self._seg = None

    def discard(self):
        """Drop the partial (or finished) download: the record first, then the files."""
        self._drop_conn()
        self._close_seg()
        self.stats["discarded"] += self.have + len(self._pending)
        self._pending = b""
        failures = self.hash_failures
        self._fresh()
        self.hash_failures = failures
        if self.storage.exists(self._record_name):
            self._save()
        self._tidy()

    def remove(self):
        """Forget the download entirely (after it was installed)."""
        self.discard()
        for f in self.storage.listdir(self.name):
            self.storage.remove(self.name + "/" + f)

    # -- the transfer ----------------------------------------------------
    def _drop_conn(self):
        if self._get is not None:
            self._count()
            self._get.close()
            self._get = None

    def _count(self):
        g = self._get
        self.stats["wire_in"] += g.wire_in
        self.stats["wire_out"] += g.wire_out
        g.wire_in = g.wire_out = 0

    def _open(self, url=None):
        at = self.have + len(self._pending)
        headers = []
        if at:
            headers.append(("Range", "bytes=%d-" % at))
            if self.etag or self.modified:
                headers.append(("If-Range", self.etag or self.modified))
            if url is None:                               # not a redirect of the same request
                self.stats["resumes"] += 1
        self._redirects = 0 if url is None else self._redirects + 1
        self._get = HttpGet(url or self.url, headers, self.bounds, self.clock)
        self.stats["requests"] += 1

    def _restart(self, why):
        """The server's file is not the one we hold part of: start from byte 0."""
        self.last_error = why
        self.stats["restarts"] += 1
        keep = self._get
        self._get = None
        self.discard()
        self._get = keep

    def _accept_head(self):
        """Decide what the response means for the bytes we hold (the resume rules)."""
        g = self._get
        at = self.have + len(self._pending)
        if g.status in (301, 302, 303, 307, 308) and g.header("location"):
            if self._redirects >= MAX_REDIRECTS:
                raise tuf_exc.DownloadError("%s: more than %d redirects" % (self.url, MAX_REDIRECTS))
            loc = urljoin(g.url, g.header("location"))
            self._drop_conn()
            self._open(loc)
            return False
        if g.status == 416:                               # our offset is past the server's end: not our file
            self._drop_conn()
            self._restart("the server answered 416 to bytes=%d-: its file changed; starting over" % at)
            return False
        if g.status >= 400:
            raise _http_error(g)
        etag, modified = _validators(g)
        if g.status == 200:
            total = g.body_left
            if total is not None and total != self.length:
                self._refuse_length(total)                # before anything we hold is dropped
            if at:
                self._restart("the server sent the whole file instead of bytes %d- (Range ignored or "
                              "the file changed); starting over" % at)
        elif g.status == 206:
            first, total = _content_range(g)
            changed = (self.etag and etag and etag != self.etag) or \
                (not self.etag and self.modified and modified and modified != self.modified)
            if first != at or changed:
                self._drop_conn()
                self._restart("the server's file changed (ETag/Last-Modified or range start); starting over")
                return False
            if total is None and g.body_left is not None:
                total = at + g.body_left
        else:
            raise tuf_exc.DownloadError("%s: unexpected HTTP %d" % (g.url, g.status))
        if total is not None and total != self.length:
            self._refuse_length(total)
        self.etag, self.modified = etag, modified
        return True

    def _refuse_length(self, total):
        raise tuf_exc.DownloadLengthMismatchError(
            "%s is %d bytes on the server but the signed target says %d; refusing it (kept %d bytes)"
            % (self.url, total, self.length, self.have))

    def step(self, budget_bytes=CHUNK, wait=0.0):
        """Move at most budget_bytes, waiting at most `wait` s for the network."""
        if self.state in ("done", "failed"):
            return self.state
        if self.state == "waiting":
            if self.clock() < self.retry_at:
                return "waiting"
            self.state = "fetching"
        end = self.clock() + wait
        moved = 0
        if self._catchup is not None:
            moved = self._hash_stored(budget_bytes)
            if self._catchup is not None:
                return self.state
        try:
            while moved < budget_bytes and self.have + len(self._pending) < self.length:
                if self._get is None:
                    self._open()
                if self._get.status is None:
                    self._get.poll(0, max(0.0, end - self.clock()))
                    if self._get.status is None:
                        break
                    if not self._accept_head():
                        continue
                room = self.length - self.have - len(self._pending)
                data = self._get.poll(min(budget_bytes - moved, self.chunk - len(self._pending), room),
                                      max(0.0, end - self.clock()))
                if data:
                    moved += len(data)
                    self.stats["received"] += len(data)
                    self._pending += data
                    if len(self._pending) >= self.chunk or self.have + len(self._pending) == self.length:
                        self._commit()
                elif self._get.done:
                    raise tuf_exc.DownloadError("%s: the body ended at byte %d of %d"
                                                % (self.url, self.have + len(self._pending), self.length))
                else:
                    break
            if self._get is not None:
                self._count()
            self.errors = 0
        except tuf_exc.DownloadError as e:
            self._commit()                                # what arrived intact is kept
            self._drop_conn()
            self.errors += 1
            if isinstance(e, tuf_exc.SlowRetrievalError):
                self.stats["slow"] += 1
            self.last_error = str(e)
            self.last_exc = e
            self.retry_at = self.clock() + self.bounds.retry_after(self.errors)
            self.state = "waiting"
            return self.state
        if self.have + len(self._pending) >= self.length:
            self._commit()
            self._drop_conn()                             # never read past the declared length
            self._close_seg()
            self._verify()
        return self.state

    def run(self, timeout, budget_bytes=CHUNK, wait=0.05):
        """Blocking use (CLI, tests): step until done/failed or `timeout` s; returns the state."""
        end = self.clock() + timeout
        while self.state not in ("done", "failed") and self.clock() < end:
            if self.step(budget_bytes, wait) == "waiting":
                time.sleep(max(0.0, min(wait, self.retry_at - self.clock())))
        return self.state

    # -- the check -------------------------------------------------------
    def chunks(self, size=CHUNK):
        """The committed bytes, segment by segment (recorded prefixes only)."""
        for seg, n in self.segments:
            left = n
            for b in self.storage.read_chunks(seg, size):
                if left <= 0:
                    break
                b = b[:left]
                left -= len(b)
                yield b

    def _hash_stored(self, budget):
        """Rebuild the running digests from storage, at most ~budget bytes per call."""
        done = 0
        while done < budget:
            b = next(self._catchup, None)
            if b is None:
                self._catchup = None
                break
            for d in self._digests.values():
                d.update(b)
            self._hashed += len(b)
            done += len(b)
        return done

    def _verify(self):
        total = self._hashed
        bad = [a for a, d in self._digests.items() if d.hexdigest() != self.hashes[a].lower()]
        if total == self.length and not bad:
            self.state = "done"
            return
        why = ("length %d, expected %d" % (total, self.length)) if total != self.length else \
            ("%s mismatch" % ", ".join(sorted(bad)))
        self.hash_failures += 1
        self.stats["hash_failures"] += 1
        self.discard()
        self.last_error = "downloaded %s does not match the signed target (%s); partial discarded" % (self.url, why)
        self.last_exc = tuf_exc.LengthOrHashMismatchError(self.last_error)
        if self.hash_failures >= self.max_hash_failures:
            self.state = "failed"
            self.last_error += "; giving up after %d tries: check the mirror" % self.hash_failures
        else:
            self.state = "fetching"

    def reader(self):
        """A file-like (read(n)) over the verified download, e.g. for Launcher.install."""
        if self.state != "done":
            raise DownloadFailed("download of %s is %s, not verified: %s" % (self.url, self.state, self.last_error))
        return _ChunkReader(self.chunks())


class _ChunkReader:
    def __init__(self, chunks):
        self._it = iter(chunks)
        self._buf = b""

    def read(self, n=-1):
        while n < 0 or len(self._buf) < n:
            b = next(self._it, None)
            if b is None:
                break
            self._buf += b
        if n < 0:
            n = len(self._buf)
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


ZSTD_MAX_HEADER = 18        # magic, descriptor, window, dictionary id, content size


class DecompressError(Exception):
    """The compressed stream is damaged, truncated, or expands past its bound."""


class DecompressingWriter:
    """write(compressed) -> sink(decompressed pieces); close() checks the stream ended.

    fmt "zstd" or "xz". Input is fed in small slices so one call never holds
    more than about `SLICE * max ratio` of output, the total output is
    bounded by `max_output` (a bomb is refused before it fills memory), and
    the decoder's window / dictionary by `max_memory`.
    """

    SLICE = 256

    def __init__(self, sink, fmt, max_output, max_memory=DECODER_MEMORY):
        self.sink = sink
        self.fmt = fmt
        self.max_output = max_output
        self.max_memory = max_memory
        self.written = 0
        self._head = b""            # zstd: the frame header, to check its content size at the end
        if fmt == "zstd":
            import zstandard
            self._d = zstandard.ZstdDecompressor(max_window_size=max_memory).decompressobj()
            self._errors = (zstandard.ZstdError,)
        elif fmt == "xz":
            self._d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=max_memory)
            self._errors = (lzma.LZMAError,)
        else:
            raise ValueError("unknown compression %r: use zstd or xz" % fmt)

    def write(self, data):
        view = memoryview(data)
        for i in range(0, len(view), self.SLICE):
            if self._d.eof:
                raise DecompressError("data after the end of the %s stream" % self.fmt)
            if self.fmt == "zstd" and len(self._head) < ZSTD_MAX_HEADER:
                self._head += bytes(view[i:i + ZSTD_MAX_HEADER - len(self._head)])
            try:
                out = self._d.decompress(bytes(view[i:i + self.SLICE]))
            except self._errors as e:
                raise DecompressError("damaged %s stream, or it needs more than %d MiB to decode: %s"
                                      % (self.fmt, self.max_memory >> 20, e)) from None
            self._emit(out)
        return len(data)

    def _emit(self, out):
        if out:
            self.written += len(out)
            if self.written > self.max_output:
                raise DecompressError("%s stream expands past %d bytes: refused" % (self.fmt, self.max_output))
            self.sink(out)

    def close(self):
        if not self._d.eof:
            raise DecompressError("%s stream is truncated" % self.fmt)
        if self._d.unused_data:
            raise DecompressError("data after the end of the %s stream" % self.fmt)
        if self.fmt == "zstd":
            # zstandard checks a frame's declared content size only when the
            # frame arrives in one piece; fed in slices it is not checked
            import zstandard
            size = zstandard.get_frame_parameters(self._head).content_size
            if size != zstandard.CONTENTSIZE_UNKNOWN and size != self.written:
                raise DecompressError("damaged zstd stream: its frame header says %d bytes, it holds %d"
                                      % (size, self.written))


class DecompressingReader:
    """A file-like read(n) of the decompressed bytes of a compressed reader."""

    def __init__(self, source, fmt, max_output, chunk=CHUNK):
        self.source = source
        self.chunk = chunk
        self._out = collections.deque()
        self._have = 0
        self._w = DecompressingWriter(self._push, fmt, max_output)
        self._ended = False

    def _push(self, b):
        self._out.append(b)
        self._have += len(b)

    def read(self, n=-1):
        while not self._ended and (n < 0 or self._have < n):
            b = self.source.read(self.chunk)
            if not b:
                self._w.close()
                self._ended = True
                break
            self._w.write(b)
        buf = b"".join(self._out)
        n = len(buf) if n < 0 else n
        out, rest = buf[:n], buf[n:]
        self._out = collections.deque([rest] if rest else [])
        self._have = len(rest)
        return out
