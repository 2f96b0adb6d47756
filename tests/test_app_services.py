"""Services on the loop (hearth.core.services), the console as one, the wall
clock beside the loop clock, and the trial health check's structured result.

Times here come from CostTimer, a deterministic stand-in for the loop's
perf_counter: each reading advances it a microsecond, and work "costs" what
the test says it costs. No assertion reads the wall clock."""
import hashlib

import pytest

from hearth import board as board_mod
from hearth.wiring import WiringError, build
from hearth.boot.health import CONFIRMED, ERROR, NOT_TRIAL, WAITING, HealthCheck, HealthResult
from hearth.core import causes as C
from hearth.core.services import SlicedService
from hearth.services import ConsoleService

READING_S = 1e-6            # what one timer reading costs in CostTimer time


class CostTimer:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        self.t += READING_S
        return self.t

    def spend(self, seconds):
        self.t += seconds


def sim_app(tmp_path, **kw):
    app = build(board_mod.load("sim", storage=str(tmp_path)), detector=None, boot=None, **kw)
    app.records = []
    app.log.sinks.append(lambda t, l, m, msg: app.records.append((t, m, msg)))
    return app


def hashing(timer, slice_s, slices, buf=b"\x5a" * 65536):
    """Hashing work, one 64 KiB sha256 update per slice, each slice costing
    slice_s of timer time."""
    h = hashlib.sha256()
    for n in range(slices):
        h.update(buf)
        timer.spend(slice_s)
        yield n
    return h.hexdigest()


def test_sliced_hashing_service_50_ms_per_s_has_no_overruns(tmp_path):
    """A few audio minutes with 50 ms of hashing per audio second, sliced to
    fit the service's budget: no block overruns, no service overruns, and
    the work is really done (close to its share of every turn)."""
    timer = CostTimer()
    app = sim_app(tmp_path)
    app.timer = timer
    svc = SlicedService("hash-load", timer, budget_s=0.050 * app.dt)      # 5 ms of a 100 ms block
    done = []
    svc.submit(hashing(timer, slice_s=0.4e-3, slices=12 * 1800), done=done.append)  # more than 3 minutes hold
    app.services.add(svc)
    app.run(seconds=180.0)
    m = app.metrics.to_dict()
    assert m["blocks"] == 1800 and m["overruns"]["block"] == 0
    st = m["services"]["hash-load"]
    assert st["overruns"] == 0 and st["state"] == "running" and st["latency_us"]["n"] == 1800
    # a slice starts while two (0.8 ms) fit into the 95 % of 5 ms slices may
    # fill: 10 a turn
    assert svc.slices == 10 * 1800 and svc.busy() and not done
    assert 4000 <= st["latency_us"]["max"] <= 5000
    assert "service hash-load:" in app.metrics.text()


def test_a_slice_slower_than_the_budget_counts_a_service_overrun(tmp_path):
    timer = CostTimer()
    app = sim_app(tmp_path)
    app.timer = timer
    costs = iter([1e-3] * 50 + [8e-3] + [1e-3] * 1000)

    def uneven():
        while True:
            timer.spend(next(costs))
            yield
    svc = SlicedService("uneven", timer, budget_s=0.005)
    svc.submit(uneven())
    app.services.add(svc)
    app.run(seconds=6.0)
    st = app.metrics.services["uneven"]
    assert st.overruns == 1                  # the 8 ms slice; after it none starts that might not fit
    assert svc.slices >= 51 + 20             # ... until the outlier decayed out of the estimate: work resumed
    assert app.metrics.overruns["block"] == 0


def test_a_service_over_its_budget_counts_overruns_and_block_overruns(tmp_path):
    timer = CostTimer()
    app = sim_app(tmp_path)
    app.timer = timer

    class Slow:
        polls = 0

        def poll(self, now, budget):
            self.polls += 1
            timer.spend(0.150 if self.polls % 10 == 0 else budget / 2)     # once a second: a 150 ms poll
    app.services.add(Slow(), name="slow", budget_s=0.010)
    app.run(seconds=10.0)
    assert app.metrics.services["slow"].overruns == 10
    assert app.metrics.overruns["block"] == 10          # the turn fell behind the audio too
    assert all(app.metrics.overruns[s] == 0 for s in ("capture", "detect", "alarm", "decide", "actuate"))


def test_a_service_that_raises_is_stopped_and_cooking_goes_on(tmp_path):
    app = sim_app(tmp_path)
    oven = app.ports["oven"]
    polls = []

    class Flaky:
        def poll(self, now, budget):
            polls.append(now)
            if len(polls) == 5:
                raise OSError("disk full")
    app.services.add(Flaky(), name="uploader")
    app.inputs.press("start")
    app.run(seconds=3.0)
    assert len(polls) == 5 and app.services.names() == []       # never polled again
    active = dict((c[0], c[2]) for c in app.modes.active())     # (detector=None: runtime missing too)
    assert active[C.SERVICE_FAILED] == "uploader: OSError: disk full"
    assert app.metrics.services["uploader"].state == "failed: OSError: disk full"
    assert any(m == "service" and "uploader failed and was stopped" in msg for _, m, msg in app.records)
    assert app.running and app.turns == 30
    # still cooking: the heater follows the thermostat, and the cutoff still fires
    assert app.appliance.ctl.cooking and oven.heater
    while app.turns % app.control_every != 3:
        app.step()
    oven.cavity = app.cutoff + 5.0
    app.step()
    assert not oven.heater and not app.appliance.outputs["heater"]


def test_console_service_polls_either_console(tmp_path):
    calls = []

    class Plain:
        def poll(self):
            calls.append("plain")

    class Layered:
        def poll(self, now, budget):
            calls.append(("layered", now, budget))
    app = sim_app(tmp_path, services=[ConsoleService(Plain())])
    app.services.add(ConsoleService(Layered()), name="console2", budget_s=0.002)
    app.run(seconds=0.2)
    assert calls == ["plain", ("layered", pytest.approx(0.1), 0.002),
                     "plain", ("layered", pytest.approx(0.2), 0.002)]
    assert app.status()["services"] == ["console", "console2"]
    with pytest.raises(ValueError):
        app.services.add(ConsoleService(Plain()))        # one service per name


def test_no_services_no_service_metrics(tmp_path):
    app = sim_app(tmp_path)
    app.run(seconds=1.0)
    assert app.metrics.to_dict()["services"] == {} and "service" not in app.metrics.text()


def test_wall_clock_jumps_do_not_disturb_the_loop(tmp_path):
    """The sim's wall clock starts where HEARTH_SIM_WALL says and runs with
    audio time; set/jump move it, and nothing the loop times or decides moves
    with it: audio time, services' `now`, the cook timer, mode hysteresis."""
    timer = CostTimer()
    app = sim_app(tmp_path, env={"HEARTH_SIM_WALL": "1700000000"})
    app.timer = timer
    seen = []

    class Stamps:
        def poll(self, now, budget):
            seen.append((now, app.wall.now()))
    app.services.add(Stamps())
    assert app.wall.now() == 1700000000.0
    app.appliance.request("console", "timer", 30, app.t)
    app.inputs.press("start")
    app.run(seconds=10.0)
    assert app.wall.now() == pytest.approx(1700000010.0)
    app.wall.jump(-7200.0)                       # NTP steps it back two hours
    app.run(seconds=10.0)
    app.wall.set(1800000000.0)                   # and forward by months
    from hearth.ports.sensors import write_millidegrees
    write_millidegrees(app.soc.path, 99)        # soc hot: enters after 2 s of loop time
    app.run(seconds=5.0)
    assert app.wall.now() == pytest.approx(1800000005.0)
    assert app.t == pytest.approx(25.0) and app.turns == 250
    nows = [n for n, _ in seen]
    assert all(b - a == pytest.approx(0.1) for a, b in zip(nows, nows[1:]))
    walls = [w for _, w in seen]
    assert walls[100] - walls[99] == pytest.approx(-7200.0 + 0.1)
    assert app.metrics.overruns["block"] == 0
    tr = app.modes.transitions[-1]
    assert tr["cause"] == C.SOC_HOT and tr["t"] == pytest.approx(20.0 + 0.1 + 2.0, abs=0.11)
    app.run(seconds=10.0)
    assert not app.appliance.ctl.cooking          # the 30 s cook timer ended on loop time
    done = [t for t, _, msg in app.records if "timer done" in msg]
    assert done and done[0] == pytest.approx(30.0, abs=1.1), app.records
    assert app.status()["wall"] == pytest.approx(1800000015.0)


def test_sim_wall_clock_setting_is_checked(tmp_path):
    with pytest.raises(WiringError, match="seconds since the epoch"):
        sim_app(tmp_path, env={"HEARTH_SIM_WALL": "yesterday"})


def test_health_check_result_has_state_and_reason(tmp_path):
    """poll() gives .state and .reason (the loop reads those), and still reads
    as the status line."""
    r = HealthResult(WAITING, "console not up")
    assert (r.state, r.reason, str(r)) == (WAITING, "console not up", "waiting: console not up")
    assert str(HealthResult(CONFIRMED)) == "confirmed"
    r = HealthCheck(str(tmp_path)).poll()           # no launcher state here
    assert (r.state, r.reason, r) == (NOT_TRIAL, "", "not-trial")
    assert HealthResult(ERROR, "x").state == ERROR
