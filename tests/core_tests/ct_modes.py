from hearth.core import causes as C
from hearth.core.modes import ModeManager, FULL, CONSTRAINED, SAFE, CAUSES, CAPABILITIES


def test_starts_full_with_all_capabilities():
    m = ModeManager()
    assert m.mode == FULL
    assert m.can("nn") and m.can("ai_heat") and m.can("assistant") and m.nn
    assert m.why().startswith("FULL")


def test_instant_cause_enters_and_exits():
    m = ModeManager()
    m.report(C.RUNTIME_MISSING, True, 0.0, "no module")
    tr = m.update(0.0)
    assert tr["from"] == FULL and tr["to"] == CONSTRAINED
    assert tr["cause"] == C.RUNTIME_MISSING and tr["detail"] == "no module"
    assert not m.can("ai_heat") and m.can("nn")
    m.report(C.RUNTIME_MISSING, False, 5.0)
    tr = m.update(5.0)
    assert tr["to"] == FULL and tr["cause"] == "runtime missing cleared"
    assert m.counts == {C.RUNTIME_MISSING: 1, "runtime missing cleared": 1}
    assert m.total == 2


def test_enter_hysteresis_needs_sustained_condition():
    m = ModeManager()
    enter = CAUSES[C.SOC_HOT][1]
    m.report(C.SOC_HOT, True, 10.0)
    assert m.update(10.0 + enter * 0.5) is None
    assert m.mode == FULL
    # a blip below the limit restarts the clock
    m.report(C.SOC_HOT, False, 10.0 + enter * 0.6)
    m.report(C.SOC_HOT, True, 10.0 + enter * 0.7)
    assert m.update(10.0 + enter * 1.5) is None
    tr = m.update(10.0 + enter * 1.7 + 0.01)
    assert tr is not None and tr["to"] == SAFE
    assert not m.can("nn") and not m.nn


def test_exit_hysteresis_needs_sustained_clear():
    m = ModeManager()
    m.report(C.AUDIO_SILENT, True, 0.0)
    m.update(CAUSES[C.AUDIO_SILENT][1])
    assert m.mode == SAFE
    exit_s = CAUSES[C.AUDIO_SILENT][2]
    m.report(C.AUDIO_SILENT, False, 100.0)
    assert m.update(100.0 + exit_s * 0.5) is None
    assert m.mode == SAFE
    tr = m.update(100.0 + exit_s)
    assert tr["to"] == FULL


def test_most_severe_cause_wins_and_steps_down():
    m = ModeManager()
    m.report(C.MODEL_HASH, True, 0.0, "okay_nabu")
    m.update(0.0)
    m.report(C.SOC_HOT, True, 1.0)
    tr = m.update(1.0 + CAUSES[C.SOC_HOT][1])
    assert tr["from"] == CONSTRAINED and tr["to"] == SAFE and tr["cause"] == C.SOC_HOT
    m.report(C.SOC_HOT, False, 20.0)
    tr = m.update(20.0 + CAUSES[C.SOC_HOT][2])
    assert tr["from"] == SAFE and tr["to"] == CONSTRAINED and tr["cause"] == "soc hot cleared"
    names = [a[0] for a in m.active()]
    assert names == [C.MODEL_HASH]


def test_overrides_and_bounded_log():
    m = ModeManager({C.SOC_HOT: {"enter_s": 0.0, "exit_s": 0.0}}, max_log=3)
    for i in range(10):
        m.report(C.SOC_HOT, i % 2 == 0, float(i))
        m.update(float(i))
    assert len(m.transitions) == 3
    assert m.total == 10
    assert m.counts[C.SOC_HOT] == 5 and m.counts["soc hot cleared"] == 5


def test_capability_table_is_monotonic():
    # a more severe mode never allows more than a less severe one
    order = [FULL, CONSTRAINED, SAFE]
    for cap in CAPABILITIES[FULL]:
        allowed = [CAPABILITIES[m][cap] for m in order]
        for i in range(1, len(allowed)):
            assert not (allowed[i] and not allowed[i - 1])
