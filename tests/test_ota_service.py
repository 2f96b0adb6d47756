"""The OTA service on the loop (hearth.ota.service): checks at the interval
with jitter, never blocks a poll on the worker, the reboot policy, a crash
stops the service as a mode cause; the board's [ota] section; the console's
`ota` and `metrics`; a real update from nginx through the service; and
`hearth bench ota` (small)."""
import json
import random
import threading

import pytest

from hearth import board as board_mod
from hearth.core import causes as C
from hearth.ota.service import OtaService, from_board
from hearth.wiring import build
from ota_testenv import Env, Template
from nginx_server import nginx_server  # noqa: F401  (fixture)
from test_bench_smoke import doc, run_cli, written  # noqa: F401  (doc: fixture)

pytestmark = pytest.mark.timeout(300)
SEED = 20261204


class FakeClient:
    """update() blocks until the test lets it finish with `outcome`."""

    def __init__(self, outcome):
        self.outcome = outcome
        self.go = threading.Event()
        self.started = threading.Event()
        self.calls = 0
        self.last_download = None

    def update(self, retry=None, progress=None):
        self.calls += 1
        self.started.set()
        progress("checking")
        assert self.go.wait(30), "the test never let the update finish"
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return dict(self.outcome)


def settle(svc, now, until):
    """Poll (as the loop would) until until() holds; returns polls taken."""
    for n in range(2000):
        svc.poll(now, 0.002)
        if until():
            return n
        threading.Event().wait(0.005)
    raise AssertionError("service state %s never reached the condition" % svc.state)


def test_checks_at_the_interval_with_jitter_and_polls_never_wait():
    print("seed %d" % SEED)
    c = FakeClient({"event": "nothing", "reason": "up to date", "check_bytes": 700})
    svc = OtaService(c, interval_s=100.0, jitter=0.25, rng=random.Random(SEED))
    svc.poll(0.0, 0.002)
    assert 75.0 <= svc.next_at <= 125.0 and c.calls == 0      # the first check is a jittered interval away
    svc.poll(svc.next_at - 0.1, 0.002)
    assert c.calls == 0
    now = svc.next_at
    svc.poll(now, 0.002)
    assert c.started.wait(10) and svc.state == "checking"
    for _ in range(20):                                         # the worker is blocked: polls return
        svc.poll(now, 0.002)
    assert svc.state == "checking" and c.calls == 1
    c.go.set()
    settle(svc, now, lambda: svc.state == "idle" and svc.last is not None)
    assert now + 75.0 <= svc.next_at <= now + 125.0
    m = svc.metrics()
    assert (m["checks"], m["last_check_bytes"], m["last_outcome"]) == (1, 700, "nothing")


@pytest.mark.parametrize("policy,idle,reboots", [("now", False, True), ("idle", False, False),
                                                  ("idle", True, True), ("never", True, False)])
def test_reboot_policy(policy, idle, reboots):
    c = FakeClient({"event": "installed", "version": "1.1.0", "kind": "full", "bytes": 1234, "resumes": 1,
                    "check_bytes": 900})
    c.go.set()
    asked = []
    svc = OtaService(c, interval_s=10.0, reboot_policy=policy, reboot=asked.append, can_reboot=lambda: idle,
                     first_check_s=0.0)
    settle(svc, 1.0, lambda: svc.state in ("installed", "rebooting"))
    for _ in range(3):
        svc.poll(2.0, 0.002)
    assert bool(asked) == reboots
    assert svc.state == ("rebooting" if reboots else "installed")
    assert svc.metrics()["updates"] == 1 and svc.metrics()["update_bytes"] == 1234
    assert c.calls == 1                                         # a staged image is not checked past


def test_a_crashing_worker_stops_the_service_as_a_mode_cause(tmp_path):
    app = build(board_mod.load("sim", storage=str(tmp_path)), detector=None, boot=None)
    c = FakeClient(RuntimeError("bug in the client"))
    c.go.set()
    svc = OtaService(c, interval_s=10.0, first_check_s=0.0)
    app.services.add(svc)
    app.run(seconds=3600.0, until=lambda a: "ota" not in a.services.names())
    app.run(seconds=1.0)                                # a control turn reports the mode cause
    assert c.started.is_set() and "ota" not in app.services.names()
    assert "bug in the client" in app.services.failed["ota"]
    active = dict((c[0], c[2]) for c in app.modes.active())
    assert active[C.SERVICE_FAILED] == "ota: RuntimeError: bug in the client"


def _board(tmp_path, ota):
    text = open(board_mod.BOARDS_DIR + "/sim.toml", encoding="utf-8").read()
    p = tmp_path / "b.toml"
    p.write_text(text + "\n[ota]\n" + ota, encoding="utf-8")
    return str(p)


def test_board_ota_section_and_defaults(tmp_path):
    b = board_mod.load(_board(tmp_path, 'url = "http://127.0.0.1:1/"\n'), storage=str(tmp_path))
    svc = from_board(b, storage=str(tmp_path))
    assert (svc.interval_s, svc.jitter, svc.reboot_policy, svc.first_check_s) == (3600.0, 0.25, "idle", None)
    assert svc.client.url == "http://127.0.0.1:1/"
    b = board_mod.load(_board(tmp_path, 'url = "http://h/"\ninterval_s = 60\nring = "canary"\n'
                                        'device_id = "oven-7"\nreboot = "now"\njitter = 0.1\n'),
                       storage=str(tmp_path))
    svc = from_board(b, storage=str(tmp_path))
    assert (svc.interval_s, svc.jitter, svc.reboot_policy) == (60.0, 0.1, "now")
    assert svc.client._overrides == {"device_id": "oven-7", "ring": "canary"}
    b = board_mod.load(_board(tmp_path, 'url = "http://h/"\nenabled = false\n'), storage=str(tmp_path))
    assert from_board(b) is None
    assert from_board(board_mod.load("sim", storage=str(tmp_path))) is None
    for bad, msg in [('interval_s = 60\n', "[ota] url: missing"), ('url = "h"\nreboot = "later"\n', "reboot"),
                     ('url = "h"\njitter = 1.5\n', "jitter"), ('url = "h"\ncolour = 1\n', "unknown key")]:
        with pytest.raises(board_mod.BoardError) as e:
            board_mod.load(_board(tmp_path, bad), storage=str(tmp_path))
        assert msg in str(e.value)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return Template(tmp_path_factory.mktemp("ota-service"))


def test_service_updates_from_nginx_and_shows_it_on_the_console(template, tmp_path, nginx_server):  # noqa: F811
    """The real client in the service: finds 1.1.0, downloads, installs, asks
    for the reboot; then (after the launcher confirmed) a check with nothing new."""
    from hearth.console import make_shell
    env = Env(template, tmp_path, nginx_server)
    asked = []
    svc = OtaService(env.client, interval_s=30.0, reboot_policy="now", reboot=asked.append, first_check_s=0.0)
    settle(svc, 0.0, lambda: asked)
    assert svc.installed["version"] == "1.1.0" and env.running() == ("1.0.0", "b")
    m = svc.metrics()
    assert m["updates"] == 1 and m["last_kind"] == "full"
    length = svc.installed["target_length"]
    assert length <= m["last_update_bytes"] <= length + 2048        # the target, plus headers
    assert 0 < m["last_check_bytes"]
    L = env.launcher()
    L.materialize(L.select())
    L.confirm()
    svc.state = "idle"                                          # the rebooted app's service, in effect
    svc.next_at = 0.0
    settle(svc, 1.0, lambda: svc.metrics()["checks"] == 2)
    m = svc.metrics()
    assert m["last_outcome"] == "nothing" and m["last_check_bytes"] <= 2048, m

    app = build(board_mod.load("sim", storage=str(tmp_path / "app")), detector=None, boot=None)
    app.ota = svc
    sh = make_shell(app)
    ok, out = sh.execute("ota --json")
    out = json.loads(out)
    assert ok and out["result"]["state"] == "idle" and out["result"]["metrics"]["updates"] == 1
    ok, out = sh.execute("metrics --json")
    assert ok and json.loads(out)["result"]["ota"]["checks"] == 2
    ok, out = sh.execute("metrics")
    assert ok and "ota: 2 checks" in out
    ok, out = make_shell(build(board_mod.load("sim", storage=str(tmp_path / "app2")), detector=None,
                               boot=None)).execute("ota")
    assert not ok and "no OTA service" in out


def test_bench_ota_runs_and_writes_its_section(doc):  # noqa: F811
    """`hearth bench ota --small` (two small images, no loop run) reports every figure and
    --write-doc writes its section to $HEARTH_BENCH_DOC, not the real document."""
    rows = run_cli("bench", "ota", "--small", "--repeats", "1", "--write-doc", doc=doc)
    figures = {r["figure"]: r for r in rows}
    assert {"check_nothing_new_bytes", "full_update_target_bytes", "refetched_after_power_cut_bytes",
            "update_time_1pct_resets_ratio"} <= set(figures)
    full = figures["full_update_target_bytes"]
    assert full["target_length"] <= full["value"] <= full["target_length"] + 2048
    assert figures["refetched_after_power_cut_bytes"]["value"] <= 64 * 1024
    delta = figures["delta_update_target_bytes"]       # the release with a delta from the running image
    assert 0 < delta["value"] < full["value"]
    text = written(doc, "ota", "hearth bench ota --write-doc")
    assert "check with nothing new" in text and "re-fetched after a cut" in text
