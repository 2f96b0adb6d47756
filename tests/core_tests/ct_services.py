from hearth.core import causes as C
from hearth.core.audiohealth import AudioHealth
from hearth.core.budget import DetectorBudget
from hearth.core.log import Log
from hearth.core.metrics import Metrics
from hearth.core.modes import ModeManager
from hearth.core.quality import DetectorQuality, QualityMonitor
from hearth.core.services import Services, SlicedService
from hearth.core.thermal import SocThermal

from ct_util import raises


class _Timer:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _services():
    modes = ModeManager()
    return Services(Metrics(), modes, Log()), modes


def test_services_poll_time_and_stop_a_failing_one():
    timer = _Timer()
    svc, modes = _services()
    seen = []

    class Good:
        def poll(self, now, budget):
            seen.append((now, budget))
            timer.t += 0.002

    class Bad:
        def poll(self, now, budget):
            raise OSError("gone")
    svc.add(Good(), name="good", budget_s=0.001)
    svc.add(Bad(), name="bad")
    raises(ValueError, svc.add, Good(), "good")
    svc.poll(1.0, timer)
    svc.poll(2.0, timer)
    assert seen == [(1.0, 0.001), (2.0, 0.001)] and svc.names() == ["good"]
    st = svc.metrics.services["good"]
    assert st.overruns == 2 and st.latency.n == 2
    assert svc.metrics.services["bad"].state == "failed: OSError: gone"
    assert modes.causes[C.SERVICE_FAILED].raw and modes.causes[C.SERVICE_FAILED].detail == "bad: OSError: gone"
    d = svc.metrics.to_dict()
    assert d["services"]["good"]["overruns"] == 2 and d["services"]["bad"]["latency_us"]["n"] == 1
    assert svc.remove("good") and not svc.remove("good") and len(svc) == 0
    svc.add(Good(), name="bad")                 # restarted under its name: the cause clears
    assert not modes.causes[C.SERVICE_FAILED].raw and svc.metrics.services["bad"].state == "running"


def test_sliced_service_fits_slices_into_its_budget():
    timer = _Timer()
    s = SlicedService("work", timer, budget_s=0.010)
    done = []

    def job(n):
        for i in range(n):
            timer.t += 0.003
            yield i
        return "done %d" % n
    s.submit(job(4), done=done.append)
    s.submit(job(1), done=done.append)
    s.poll(0.0, s.budget_s)
    # 2 x 3 ms: a third starts only while two more (6 ms) fit into 95 % of 10 ms
    assert s.slices == 2 and done == [] and timer.t == 0.006
    s.poll(0.1, s.budget_s)
    assert done == [] and s.slices == 4
    s.poll(0.2, s.budget_s)         # job(4)'s finishing next() costs nothing, job(1) one slice
    assert done == ["done 4", "done 1"] and not s.busy() and s.slices == 7


def test_soc_thermal_hysteresis():
    modes = ModeManager()
    th = SocThermal(modes, 85.0, 5.0, poll_s=2.0)
    assert not th.report(80.0, 0.0) and th.next == 2.0
    assert th.report(86.0, 2.0) and modes.causes[C.SOC_HOT].detail == "86.0 C > 85.0 C"
    assert th.report(81.0, 4.0)              # inside the band: still hot
    assert not th.report(79.0, 6.0) and not th.report(None, 8.0)


def test_detector_budget_reports_over_and_clears():
    modes = ModeManager()
    b = DetectorBudget(modes, 0.040)
    assert b.check(0.050, 1.0) and b.cause.raw and b.cause.detail == "50.0 ms > 40.0 ms"
    assert not b.check(0.010, 2.0) and not b.cause.raw


def test_audio_health_reports_changes():
    modes = ModeManager()
    ah = AudioHealth(modes)
    ah.report("silent", 1.0)
    assert modes.causes[C.AUDIO_SILENT].raw
    ah.report("stuck", 2.0)
    assert not modes.causes[C.AUDIO_SILENT].raw and modes.causes[C.AUDIO_STUCK].raw
    ah.report("", 3.0)
    assert not modes.causes[C.AUDIO_STUCK].raw and ah.kind == ""


def test_detector_quality_weighs_by_time_covered():
    modes = ModeManager()
    q = DetectorQuality(modes, QualityMonitor(tau_s=1.0))
    q.sample(0.0, [0.5], None)               # the first: nothing to weigh it by
    assert q.monitor.unsure == 0.0
    t = 0.0
    while t < 10.0:
        t += 1.0
        q.sample(t, [0.5], None)
    assert modes.causes[C.LOW_CONFIDENCE].raw


def test_cause_table_names_every_constant_once():
    names = [row[0] for row in C.TABLE]
    assert len(names) == len(set(names)) == len(C.CAUSES)
    for name in (C.SERVICE_FAILED, C.SOC_HOT, C.PORT_FAULT, C.TRIAL_BOOT):
        assert name in C.CAUSES
