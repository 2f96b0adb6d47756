"""`hearth bench ota`: bytes and time of OTA updates, against nginx on loopback.

A repository (hearth_tools.repo, what `hearth repo` writes) with the newer
image of a pair, served by the Debian nginx; a provisioned device storage
running the older one; the device client (hearth.ota.client) and the loop
service (hearth.ota.service). Figures:

  check, nothing new      bytes on the wire (both directions) of a check when
                          the device is up to date: the next root (404) and
                          timestamp.json. With nginx's stock 404 page and with
                          the minimal 404 docs/UPDATES.md tells a deployer to set.
  full update             bytes on the wire of the check that finds it, and of
                          the target download (the xz-compressed image)
  re-fetched after a cut  bytes fetched twice: a connection cut mid-transfer
                          (fault proxy), and a power cut mid-download (the
                          counting simulated disk, then a resume)
  time at 1 % resets      the download through the fault proxy resetting 1 %
                          of connections (and 25 %), as a ratio to a clean run
  loop overruns           block and stage overruns of the real appliance loop
                          (sim board, real detector, paced in real time) and
                          of the OTA service, while the service downloads and
                          installs the update (goal 0)

The image pair: `hearth image build` of the sim board at 1.1.0 and 1.2.0
(real firmware, native extension, models); --small uses two small test
images instead (the smoke test). nginx and the fault proxy are the test
fixtures in tests/ (a source checkout).
"""
import os
import random
import shutil
import sys
import tempfile
import time

from . import _util

NAME = "ota"
HELP = "OTA bytes on the wire (no-op check, full update, after a cut), time under resets, loop overruns"
# the 404 docs/UPDATES.md tells a deployer to serve: no HTML body for a
# missing next root, which every check asks for
MINIMAL_404 = 'error_page 404 =404 /404; location = /404 { internal; default_type text/plain; return 200 ""; }'
SEED = 20261204


def add_arguments(p):
    p.add_argument("--small", action="store_true", help="two small test images instead of the sim image pair")
    p.add_argument("--seed", type=int, default=SEED, help="fault proxy seed (default %(default)s)")
    p.add_argument("--repeats", type=int, default=3, help="runs per update-time figure (default %(default)s)")


def _fixtures():
    tests = os.path.join(_util.ROOT, "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from faultproxy import FaultProxy
    from nginx_server import NginxServer
    return NginxServer, FaultProxy


class _Bench:
    def __init__(self, small):
        from hearth_tools import repo
        from hearth_tools.testing import testkit
        self.dir = tempfile.mkdtemp(prefix="hearth-bench-ota-")
        self.key = testkit.keygen(os.path.join(self.dir, "key.pem"))
        if small:
            self.board = testkit.write_board(self.dir, slot_bytes=1 << 20)
            self.images = []
            for v, sc in (("1.1.0", 1), ("1.2.0", 2)):
                path = os.path.join(self.dir, "%s.img" % v)
                with open(path, "wb") as f:
                    f.write(testkit.small_image(self.key, self.board, v, sc, files={
                        "app.py": testkit.APP, "data/noise.bin": random.Random(sc).randbytes(200 * 1024)}))
                self.images.append(path)
        else:
            from hearth_tools.cli import main as hearth
            self.board = os.path.join(_util.ROOT, "boards", "sim.toml")
            self.images = []
            for v in ("1.1.0", "1.2.0"):
                path = os.path.join(self.dir, "hearth-sim-%s.img" % v)
                rc = _quiet(lambda: hearth(["image", "build", "--board", self.board, "--version", v,
                                            "--key", self.key, "-o", path]))
                if rc:
                    raise RuntimeError("hearth image build failed (%d)" % rc)
                self.images.append(path)
        self.repo = os.path.join(self.dir, "repo")
        repo.init(self.repo)
        repo.add(self.repo, self.images[1])
        repo.publish(self.repo)
        from hearth.board import load
        self.board_name = load(self.board, storage=self.dir).name
        repo.set_rollout(self.repo, "1.2.0", self.board_name, 100)
        self.public = os.path.join(self.repo, "public")
        self.device0 = self._provision()

    def _provision(self):
        from hearth.boot.device import load_board
        from hearth.boot.launcher import Launcher, init
        from hearth.boot.storage import DirStorage
        path = os.path.join(self.dir, "device0")
        st = DirStorage(path)
        with open(self.key, "rb") as f:
            init(st, load_board(self.board), [("key.pem", f.read())])
        L = Launcher(st)
        with open(self.images[0], "rb") as f:
            L.install(f)
        L.materialize(L.select())
        L.confirm()
        return path

    def device(self, url, name, **kw):
        """A fresh copy of the provisioned device, its client trusting root v1."""
        from hearth.ota.client import Client
        path = os.path.join(self.dir, name)
        shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(self.device0, path)
        c = Client(path, url=url, **kw)
        with open(os.path.join(self.public, "metadata", "1.root.json"), "rb") as f:
            c.init(f.read(), device_id="bench-device", url=url)
        return c

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _quiet(fn):
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn()


def _confirm(client):
    L = client.launcher
    L.materialize(L.select())
    L.confirm()


def _served_target(b):
    """The compressed image file nginx serves, the one the client takes (the .xz under targets/)."""
    files = [os.path.join(d, f) for d, _s, fs in os.walk(os.path.join(b.public, "targets")) for f in fs
             if f.endswith(".xz")]
    return max(files, key=os.path.getsize)


def _update_and_noop(b, srv_url, name):
    """(outcome of the full update, outcome of the check after it)."""
    c = b.device(srv_url, name)
    full = c.update()
    if full["event"] != "installed":
        raise RuntimeError("the update was not installed: %s" % full)
    _confirm(c)
    again = c.update()
    return full, again


def _delta_update(b, NginxServer):
    """The update outcome when the release also carries a delta from the running image."""
    from hearth.ota.client import Client
    from hearth_tools import repo
    rdir = os.path.join(b.dir, "repo-delta")
    repo.init(rdir)
    repo.add(rdir, b.images[1], [b.images[0]])
    repo.publish(rdir)
    repo.set_rollout(rdir, "1.2.0", b.board_name, 100)
    public = os.path.join(rdir, "public")
    srv = NginxServer(public, extra=MINIMAL_404)
    try:
        url = srv.start()
        path = os.path.join(b.dir, "delta-device")
        shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(b.device0, path)
        c = Client(path, url=url)
        with open(os.path.join(public, "metadata", "1.root.json"), "rb") as f:
            c.init(f.read(), device_id="bench-device", url=url)
        out = c.update()
    finally:
        srv.stop()
    if out["event"] != "installed" or out.get("kind") != "delta":
        raise RuntimeError("the delta update was not installed as a delta: %s" % out)
    return out


def _cut_refetch(b, url, FaultProxy, seed):
    """Bytes fetched twice after a connection cut mid-target, and after a power cut mid-download."""
    from hearth.ota.fetcher import Bounds
    bounds = Bounds(retry_delay=0.01, max_retry_delay=0.05)
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    length = os.path.getsize(_served_target(b))
    proxy = FaultProxy(port, seed=seed, faults=("cut",), p=1.0, at=(length // 3, 2 * length // 3), max_faults=1)
    proxy.start()
    try:
        c = b.device("http://127.0.0.1:%d/" % proxy.port, "cut-net", bounds=bounds)
        out = c.update(retry=lambda dl: time.sleep(max(0.0, dl.retry_at - time.monotonic())) or True)
        net = out["received"] - out["target_length"]
        fired = len(proxy.events)
    finally:
        proxy.stop()
    # power cut: a DirStorage that fails at the n-th write of the download, then a new client resumes
    from hearth.boot.storage import PowerCut
    c = b.device(url, "cut-power", bounds=bounds)
    u = c.refresh()
    path, _h, _why = c.check(u)
    _h, info, dl = c.start_download(path, u)
    c.st.cut_at = c.st.op_count + 3 * (info.length // dl.chunk // 2) + 1      # about halfway
    got = 0
    try:
        while dl.step(1 << 20, 0.5) != "done":
            pass
    except PowerCut:
        got = dl.stats["received"]
    c.st.cut_at = None
    c2 = type(c)(c.st.root, url=url, bounds=bounds)
    dl2 = c2.download(path)[0]
    power = got + dl2.stats["received"] - info.length
    return net, fired, power, dl.chunk


def _timed_updates(b, url, FaultProxy, seed, p, repeats):
    from hearth.ota.fetcher import Bounds
    bounds = Bounds(retry_delay=0.05, max_retry_delay=0.2)
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    times, resets = [], 0
    length = os.path.getsize(_served_target(b))
    for i in range(repeats):
        proxy = FaultProxy(port, seed=seed + i, faults=("reset",), p=p, at=(512, length))
        proxy.start()
        try:
            c = b.device("http://127.0.0.1:%d/" % proxy.port, "timed", bounds=bounds)
            t0 = time.perf_counter()
            for _attempt in range(50):                 # a reset during a metadata fetch fails that check
                out = c.update(retry=lambda dl: time.sleep(max(0.0, dl.retry_at - time.monotonic())) or True)
                if out["event"] == "installed":
                    break
            else:
                raise RuntimeError("no update through the proxy after 50 checks: %s" % out)
            times.append(time.perf_counter() - t0)
            resets += len(proxy.events)
        finally:
            proxy.stop()
    times.sort()
    return times[len(times) // 2], resets


def _loop_overruns(b, url):
    """Overruns of the real loop (paced in real time) while its OTA service updates it."""
    from hearth import board as board_mod
    from hearth.ota.service import OtaService
    from hearth.wiring import build
    c = b.device(url, "loop")
    storage = os.path.join(b.dir, "loop-app")
    app = build(board_mod.load("sim", storage=storage), realtime=True, boot=None)
    svc = OtaService(c, interval_s=3600.0, reboot_policy="never", first_check_s=1.0)
    app.services.add(svc)
    app.run(seconds=1.0)
    before = dict(app.metrics.overruns), app.metrics.services["ota"].overruns
    t0 = time.monotonic()
    app.run(seconds=300.0, until=lambda a: svc.state in ("installed", "idle") and svc.last is not None)
    took = time.monotonic() - t0
    svc.stop()
    after = dict(app.metrics.overruns), app.metrics.services["ota"].overruns
    loop = sum(after[0].values()) - sum(before[0].values())
    if svc.state != "installed":
        raise RuntimeError("the service did not install the update: %s" % svc.last)
    return loop, after[1] - before[1], took, app.metrics.services["ota"].latency


def run(args, out):
    NginxServer, FaultProxy = _fixtures()
    b = _Bench(args.small)
    servers = []
    try:
        stock = NginxServer(b.public)
        servers.append(stock)
        minimal = NginxServer(b.public, extra=MINIMAL_404)
        servers.append(minimal)
        stock_url, min_url = stock.start(), minimal.start()
        full, noop_stock = _update_and_noop(b, stock_url, "stock")
        _full2, noop_min = _update_and_noop(b, min_url, "minimal")
        delta = _delta_update(b, NginxServer)
        net, fired, power, chunk = _cut_refetch(b, min_url, FaultProxy, args.seed)
        _timed_updates(b, min_url, FaultProxy, args.seed, 0.0, 1)       # warm-up: caches, first connections
        clean_s, _ = _timed_updates(b, min_url, FaultProxy, args.seed, 0.0, args.repeats)
        r1_s, r1 = _timed_updates(b, min_url, FaultProxy, args.seed, 0.01, args.repeats)
        r25_s, r25 = _timed_updates(b, min_url, FaultProxy, args.seed, 0.25, args.repeats)
        loop, svc_over, took, lat = _loop_overruns(b, min_url) if not args.small else (None, None, None, None)
    finally:
        for s in servers:
            s.stop()
        b.close()
    rows = [
        {"figure": "check_nothing_new_bytes", "nginx": "stock 404", "value": noop_stock["check_bytes"]},
        {"figure": "check_nothing_new_bytes", "nginx": "minimal 404", "value": noop_min["check_bytes"],
         "received": noop_min["check_bytes_in"], "goal": 1024},
        {"figure": "full_update_check_bytes", "value": full["check_bytes"]},
        {"figure": "full_update_target_bytes", "value": full["bytes"], "target_length": full["target_length"]},
        {"figure": "delta_update_check_bytes", "value": delta["check_bytes"]},
        {"figure": "delta_update_target_bytes", "value": delta["bytes"], "target_length": delta["target_length"]},
        {"figure": "refetched_after_connection_cut_bytes", "value": net, "faults": fired},
        {"figure": "refetched_after_power_cut_bytes", "value": power, "chunk": chunk, "goal": 64 * 1024},
        {"figure": "update_time_clean_s", "value": round(clean_s, 3)},
        {"figure": "update_time_1pct_resets_ratio", "value": round(r1_s / clean_s, 2), "resets": r1},
        {"figure": "update_time_25pct_resets_ratio", "value": round(r25_s / clean_s, 2), "resets": r25},
    ]
    if loop is not None:
        rows.append({"figure": "loop_overruns_during_update", "value": loop, "ota_service_overruns": svc_over,
                     "update_s": round(took, 2), "goal": 0})
    pair = "two small test images" if args.small else "the sim image pair (hearth image build 1.1.0 -> 1.2.0)"
    lines = ["OTA, %s, nginx on loopback; load average %s" % (pair, _util.load_average()),
             "check with nothing new:   %5d B on the wire (nginx stock 404 page), %d B with the minimal 404, "
             "of which %d B received (goal <= 1024)" % (noop_stock["check_bytes"], noop_min["check_bytes"],
                                                       noop_min["check_bytes_in"]),
             "full update:              %5d B of metadata for the check that finds it, %d B for the target "
             "(%d B xz of the image)" % (full["check_bytes"], full["bytes"], full["target_length"]),
             "delta update:             %5d B of metadata for the check that finds it, %d B for the patch "
             "(%d B; %.1f %% of the full update's target)" % (delta["check_bytes"], delta["bytes"],
                                                           delta["target_length"],
                                                           100.0 * delta["bytes"] / full["bytes"]),
             "re-fetched after a cut:   %d B after a connection cut (%d fault), %d B after a power cut "
             "mid-download (chunk %d B; goal <= 65536)" % (net, fired, power, chunk),
             "update time:              %.2f s clean; x%.2f at 1 %% resets (%d fired), x%.2f at 25 %% "
             "(%d fired), median of %d" % (clean_s, r1_s / clean_s, r1, r25_s / clean_s, r25, args.repeats)]
    if loop is not None:
        lines.append("loop overruns:            %d block/stage overruns, %d OTA service overruns while the "
                     "service updated the running sim (%.1f s, real detector, real time; goal 0); "
                     "service poll max %.0f us over its whole run" % (loop, svc_over, took, lat.max))
    from ..benchdoc import emit_rows
    emit_rows(out, args, NAME, "hearth bench ota --write-doc", rows, "\n".join(lines))
    return rows
