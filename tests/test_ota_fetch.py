"""OTA downloads through nginx and the fault proxy: resume, bounds, refusals.

nginx serves a few-MB file of seeded random bytes; the download goes through
tests/faultproxy.py with one kind of fault at a time. A download must
complete with exactly the served bytes, re-fetch at most one chunk per
interruption (client-side count of body bytes received, checked against the
Range requests in nginx's access log), never accept corrupted bytes (hash
check fails -> partial discarded -> fetched again, or refused), give up on a
trickle within its bound and resume later, and never take more than the
declared length. Seed: HEARTH_SEED (printed; a failure replays with it).
"""
import hashlib
import os
import random
import socket
import threading

import pytest

from faultproxy import FaultProxy
from nginx_server import nginx_server  # noqa: F401  (fixture)
from hearth.ota.fetcher import (CHUNK, Bounds, DownloadFailed, RateGuard, ResumableDownload)
from hearth.boot.storage import DirStorage
from simdisk import SimStorage
from tuf.api import exceptions as tuf_exc

SEED = int(os.environ.get("HEARTH_SEED", "20261204"))
SIZE = 3 * 1000 * 1000 + 12345          # a few MB, not a multiple of the chunk
FAST = dict(stall_timeout=3.0, retry_delay=0.02, max_retry_delay=0.05)


@pytest.fixture(scope="module")
def payload():
    return random.Random(SEED).randbytes(SIZE)


@pytest.fixture
def site(tmp_path, payload, nginx_server):  # noqa: F811
    print("HEARTH_SEED=%d" % SEED)
    (tmp_path / "img.bin").write_bytes(payload)
    return nginx_server(str(tmp_path))


@pytest.fixture
def proxy_factory():
    started = []

    def make(srv, **kw):
        p = FaultProxy(srv.port, seed=SEED, **kw)
        p.start()
        started.append(p)
        return p
    yield make
    for p in started:
        p.stop()


def sha(data):
    return {"sha256": hashlib.sha256(data).hexdigest()}


def new_download(st, url, data, **kw):
    bounds = kw.pop("bounds", None) or Bounds(**FAST)
    return ResumableDownload(st, "ota/dl", url, len(data), sha(data), bounds=bounds, **kw)


def partial(st, url, data, nbytes):
    """Download at least nbytes of data, then stop (as a reboot would); returns the download."""
    dl = new_download(st, url, data)
    while dl.have < nbytes:
        dl.step(CHUNK, wait=0.5)
    dl._drop_conn()
    return dl


def refetched(dl, length):
    """Body bytes received more than once (the client's own count)."""
    return dl.stats["received"] - dl.stats["discarded"] - length


def test_clean_download_is_one_request(site, payload):
    st = SimStorage()
    dl = new_download(st, site.url + "img.bin", payload)
    assert dl.run(60) == "done", dl.last_error
    assert dl.reader().read() == payload
    assert dl.stats["requests"] == 1 and dl.stats["received"] == SIZE
    log = site.access_log(wait_for=1)
    assert [(r["status"], r["range"]) for r in log] == [(200, None)]


@pytest.mark.parametrize("kind", ["reset", "cut", "stall"])
def test_resumes_after_interruptions(site, payload, proxy_factory, kind):
    faults = 4
    proxy = proxy_factory(site, faults=(kind,), p=1.0, max_faults=faults, at=(1000, 400000))
    st = SimStorage()
    dl = new_download(st, "http://127.0.0.1:%d/img.bin" % proxy.port, payload,
                      bounds=Bounds(**dict(FAST, stall_timeout=0.5)))
    assert dl.run(120) == "done", "%s: %s (%r)" % (dl.last_error, dl.stats, proxy)
    assert b"".join(dl.chunks()) == payload
    assert len(proxy.events) == faults, proxy.events
    # each interruption costs at most one chunk (here: what arrived is kept, so ~nothing)
    assert 0 <= refetched(dl, SIZE) <= CHUNK * faults, dl.stats
    log = site.access_log(wait_for=faults + 1)
    resumed = [r for r in log if r["range"]]
    assert len(resumed) == faults and all(r["status"] == 206 for r in resumed), log
    assert dl.stats["restarts"] == 0 and dl.stats["hash_failures"] == 0


def test_latency_and_bandwidth_cap_complete(site, payload, proxy_factory):
    proxy = proxy_factory(site, latency=0.002, rate=4 * 1000 * 1000)
    dl = new_download(SimStorage(), "http://127.0.0.1:%d/img.bin" % proxy.port, payload)
    assert dl.run(120) == "done", dl.last_error
    assert b"".join(dl.chunks()) == payload and refetched(dl, SIZE) == 0


@pytest.mark.parametrize("kind", ["corrupt", "truncate"])
def test_damaged_bytes_never_accepted(site, payload, proxy_factory, kind):
    """One damaged response: the hash check fails, the partial is discarded, the retry is clean."""
    proxy = proxy_factory(site, faults=(kind,), p=1.0, max_faults=1, at=(1000, SIZE - 10000))
    st = SimStorage()
    dl = new_download(st, "http://127.0.0.1:%d/img.bin" % proxy.port, payload)
    assert dl.run(120) == "done", "%s (%r)" % (dl.last_error, proxy)
    assert dl.stats["hash_failures"] == 1 and dl.stats["discarded"] >= proxy.events[0][2] - 1000
    assert b"".join(dl.chunks()) == payload


def test_always_corrupted_is_refused_and_discarded(site, payload, proxy_factory):
    proxy = proxy_factory(site, faults=("corrupt",), p=1.0, at=(1000, SIZE - 1000))
    st = SimStorage()
    dl = new_download(st, "http://127.0.0.1:%d/img.bin" % proxy.port, payload)
    assert dl.run(120) == "failed"
    assert "does not match the signed target" in dl.last_error and "check the mirror" in dl.last_error
    assert not [n for n in st.snapshot() if n.endswith(".part")], "partial kept: %s" % sorted(st.snapshot())
    with pytest.raises(DownloadFailed):
        dl.reader()
    # a reboot does not retry forever: the failure count is in the record
    assert new_download(st, dl.url, payload).state == "failed"


def test_server_ignoring_range_restarts_from_zero(tmp_path, payload, nginx_server, proxy_factory):  # noqa: F811
    (tmp_path / "img.bin").write_bytes(payload)
    srv = nginx_server(str(tmp_path), extra="max_ranges 0;")     # nginx answers every Range with 200
    proxy = proxy_factory(srv, faults=("cut",), p=1.0, max_faults=1, at=(500000, 600000))
    dl = new_download(SimStorage(), "http://127.0.0.1:%d/img.bin" % proxy.port, payload)
    assert dl.run(120) == "done", dl.last_error
    assert dl.stats["restarts"] == 1 and b"".join(dl.chunks()) == payload
    assert [r["status"] for r in srv.access_log(wait_for=2)] == [200, 200]


def test_changed_file_on_server_restarts(site, payload):
    """If-Range with the old ETag: nginx sends the new file whole; the partial is dropped."""
    new = bytes(b ^ 0x5A for b in payload)
    st = SimStorage()
    before = partial(st, site.url + "img.bin", new, 5 * CHUNK).have
    (site.dir / "img.bin").write_bytes(new)
    os.utime(site.dir / "img.bin", (1, 1))                       # a different Last-Modified, so a new ETag
    dl = new_download(st, site.url + "img.bin", new)              # as after a reboot
    assert dl.have == before
    assert dl.run(60) == "done", dl.last_error
    assert dl.stats["restarts"] == 1 and b"".join(dl.chunks()) == new
    log = site.access_log(wait_for=2)
    assert log[-1]["range"] == "bytes=%d-" % before and log[-1]["status"] == 200


def test_file_longer_than_declared_is_refused_unread(site, payload):
    """The server's length (Content-Length) is not the signed one: nothing is taken."""
    (site.dir / "big.bin").write_bytes(payload + b"x" * 10000000)
    dl = new_download(SimStorage(), site.url + "big.bin", payload)
    assert dl.step(CHUNK, wait=2.0) == "waiting"
    assert "signed target says %d" % SIZE in dl.last_error and dl.stats["received"] == 0


class EndlessServer:
    """HTTP 200 with no Content-Length and a body that never ends."""

    def __init__(self, prefix=b""):
        self.prefix = prefix
        self.sent = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop_flag.is_set():
            try:
                c, _a = self.sock.accept()
            except OSError:
                return
            with c:
                c.recv(4096)
                rng = random.Random(SEED)
                try:
                    c.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + self.prefix)
                    while not self.stop_flag.is_set():
                        c.sendall(rng.randbytes(65536))
                        self.sent += 65536
                except OSError:
                    pass

    def stop(self):
        self.stop_flag.set()
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize("honest_prefix", [False, True])
def test_endless_data_never_more_than_declared(payload, honest_prefix):
    srv = EndlessServer(payload if honest_prefix else b"")
    try:
        st = SimStorage()
        st.trace = []
        dl = new_download(st, "http://127.0.0.1:%d/x.bin" % srv.port, payload)
        state = dl.run(60)
        written = sum(n for kind, name, n in st.trace if kind == "write" and name.endswith(".part"))
        if honest_prefix:           # exactly the declared bytes were taken; the rest never read
            assert state == "done" and b"".join(dl.chunks()) == payload
            assert dl.stats["received"] == SIZE and written == SIZE
        else:
            assert state == "failed" and "does not match" in dl.last_error
            assert dl.stats["received"] == 2 * SIZE and written == 2 * SIZE    # two tries, each cut at the length
    finally:
        srv.stop()


def test_slow_retrieval_gives_up_then_resumes(site, payload, proxy_factory):
    proxy = proxy_factory(site, rate=20000)                      # trickles at 20 kB/s
    bounds = Bounds(stall_timeout=5.0, min_rate=200000, rate_window=0.5, retry_delay=0.01)
    dl = new_download(SimStorage(), "http://127.0.0.1:%d/img.bin" % proxy.port, payload, bounds=bounds)
    state = None
    for _ in range(10000):
        state = dl.step(CHUNK, wait=0.05)
        if state != "fetching":
            break
    assert state == "waiting" and dl.stats["slow"] == 1, (state, dl.stats)
    assert "below the minimum 200000 B/s" in dl.last_error
    got = dl.have
    assert 0 < got < SIZE                                        # what arrived is kept
    proxy.set(rate=None)
    assert dl.run(60) == "done", dl.last_error
    assert b"".join(dl.chunks()) == payload and refetched(dl, SIZE) == 0
    assert site.access_log(wait_for=2)[-1]["range"] == "bytes=%d-" % got


def test_step_is_bounded_by_its_budget(site, payload):
    dl = new_download(SimStorage(), site.url + "img.bin", payload)
    for _ in range(20):
        before = dl.stats["received"]
        dl.step(1000, wait=0.2)
        assert dl.stats["received"] - before <= 1000


# -- the slow-retrieval bound on a fake clock (exact, no wall time) -------------
class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_rate_guard_gives_up_a_trickle_at_the_window():
    clock = FakeClock()
    g = RateGuard(Bounds(stall_timeout=10, min_rate=1000, rate_window=30), clock)
    while True:                      # 900 B/s: below the minimum, never stalls
        clock.t += 0.1
        g.note(90)
        try:
            g.check()
        except tuf_exc.SlowRetrievalError as e:
            assert "below the minimum 1000 B/s" in str(e)
            break
    assert clock.t - 100.0 == pytest.approx(30.0, abs=0.11)


def test_rate_guard_keeps_a_fast_transfer_and_ends_a_stall():
    clock = FakeClock()
    g = RateGuard(Bounds(stall_timeout=10, min_rate=100, rate_window=30), clock)
    for _ in range(1000):            # 100 s at 1100 B/s
        clock.t += 0.1
        g.note(110)
        g.check()
    clock.t += 9.9
    g.check()
    clock.t += 0.1
    with pytest.raises(tuf_exc.SlowRetrievalError, match="stall timeout"):
        g.check()


def test_verify_after_reboot_is_sliced_and_offline(site, payload):
    """A finished download found after a reboot is re-hashed from storage, a bounded slice per step."""
    st = SimStorage()
    assert new_download(st, site.url + "img.bin", payload).run(60) == "done"
    dl = new_download(st, site.url + "img.bin", payload)
    steps = 0
    while dl.step(CHUNK) == "fetching":
        steps += 1
    assert dl.state == "done" and dl.stats["requests"] == 0
    assert steps >= SIZE // CHUNK
    st.fail("read", None, 5)                                      # EIO: the stored bytes are read on use
    with pytest.raises(OSError):
        dl.reader().read()


def test_damaged_progress_record_loses_only_the_partial(site, payload):
    st = SimStorage()
    partial(st, site.url + "img.bin", payload, 3 * CHUNK)
    files = st.snapshot()
    files["ota/dl/progress.json"] = files["ota/dl/progress.json"][:-7]           # torn record
    st = SimStorage(files)
    dl = new_download(st, site.url + "img.bin", payload)
    assert dl.have == 0 and not [n for n in st.snapshot() if n.endswith(".part")]
    assert dl.run(60) == "done" and b"".join(dl.chunks()) == payload


def test_416_without_validators_restarts_then_refuses_the_wrong_length(site, payload):
    """A server that sends no validators and a file that shrank: 416, restart, length refused."""
    st = SimStorage()
    dl = partial(st, site.url + "img.bin", payload, 20 * CHUNK)
    dl.etag = dl.modified = None
    dl._save()                                                    # as if the server had sent no ETag/Last-Modified
    (site.dir / "img.bin").write_bytes(payload[:10 * CHUNK])
    dl = new_download(st, site.url + "img.bin", payload)
    while dl.state == "fetching" and dl.stats["requests"] < 2:
        dl.step(CHUNK, wait=0.5)
    assert dl.stats["restarts"] == 1 and dl.have == 0
    assert [r["status"] for r in site.access_log(wait_for=3)][-2:] == [416, 200]
    assert dl.state == "waiting" and "signed target says %d" % SIZE in dl.last_error


def test_wrong_length_reply_to_a_resume_keeps_the_partial(tmp_path, payload, nginx_server):  # noqa: F811
    """A mirror that ignores Range and serves a file of another length: refused, our bytes kept."""
    (tmp_path / "img.bin").write_bytes(payload)
    srv = nginx_server(str(tmp_path), extra="max_ranges 0;")
    st = SimStorage()
    kept = partial(st, srv.url + "img.bin", payload, 6 * CHUNK).have
    (tmp_path / "img.bin").write_bytes(payload + b"more")
    dl = new_download(st, srv.url + "img.bin", payload)
    while dl.state == "fetching" and dl.stats["requests"] < 1:
        dl.step(CHUNK, wait=0.5)
    while dl.state == "fetching":
        dl.step(CHUNK, wait=0.5)
    assert dl.have == kept and dl.stats["restarts"] == 0
    assert dl.state == "waiting" and "refusing it (kept %d bytes)" % kept in dl.last_error


def test_resume_on_a_real_directory(site, payload, tmp_path):
    """DirStorage (the device's): a new process finds the partial and resumes it with Range."""
    st = DirStorage(str(tmp_path / "storage"))
    kept = partial(st, site.url + "img.bin", payload, 10 * CHUNK).have
    dl = new_download(DirStorage(str(tmp_path / "storage")), site.url + "img.bin", payload)
    assert dl.have == kept
    assert dl.run(60) == "done", dl.last_error
    assert dl.reader().read() == payload and dl.stats["received"] == SIZE - kept
    assert sorted(os.listdir(tmp_path / "storage" / "ota" / "dl")) == [
        "progress.json", "seg-0000.part", "seg-0001.part"]
    dl.remove()
    assert os.listdir(tmp_path / "storage" / "ota" / "dl") == []
