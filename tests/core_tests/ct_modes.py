from hearth.core.modes import ModeManager, FULL, CONSTRAINED, SAFE, CAUSES, CAPABILITIES


def test_starts_full_with_all_capabilities():
    m = ModeManager()
    assert m.mode == FULL
    assert m.can("nn") and m.can("ai_heat") and m.can("assistant") and m.nn
    assert m.why().startswith("FULL")


def test_instant_cause_enters_and_exits():
    m = ModeManager()
    m.report("runtime missing", True, 0.0, "no module")
    tr = m.update(0.0)
    assert tr["from"] == FULL and tr["to"] == CONSTRAINED
    assert tr["cause"] == "runtime missing" and tr["detail"] == "no module"
    assert not m.can("ai_heat") and m.can("nn")
    m.report("runtime missing", False, 5.0)
    tr = m.update(5.0)
    assert tr["to"] == FULL and tr["cause"] == "runtime missing cleared"
    assert m.counts == {"runtime missing": 1, "runtime missing cleared": 1}
    assert m.total == 2


def test_enter_hysteresis_needs_sustained_condition():
    m = ModeManager()
    enter = CAUSES["soc hot"][1]
    m.report("soc hot", True, 10.0)
    assert m.update(10.0 + enter * 0.5) is None
    assert m.mode == FULL
    # a blip below the limit restarts the clock
    m.report("soc hot", False, 10.0 + enter * 0.6)
    m.report("soc hot", True, 10.0 + enter * 0.7)
    assert m.update(10.0 + enter * 1.5) is None
    tr = m.update(10.0 + enter * 1.7 + 0.01)
    assert tr is not None and tr["to"] == SAFE
    assert not m.can("nn") and not m.nn


def test_exit_hysteresis_needs_sustained_clear():
    m = ModeManager()
    m.report("audio silent", True, 0.0)
    m.update(CAUSES["audio silent"][1])
    assert m.mode == SAFE
    exit_s = CAUSES["audio silent"][2]
    m.report("audio silent", False, 100.0)
    assert m.update(100.0 + exit_s * 0.5) is None
    assert m.mode == SAFE
    tr = m.update(100.0 + exit_s)
    assert tr["to"] == FULL


def test_most_severe_cause_wins_and_steps_down():
    m = ModeManager()
    m.report("model hash", True, 0.0, "okay_nabu")
    m.update(0.0)
    m.report("soc hot", True, 1.0)
    tr = m.update(1.0 + CAUSES["soc hot"][1])
    assert tr["from"] == CONSTRAINED and tr["to"] == SAFE and tr["cause"] == "soc hot"
    m.report("soc hot", False, 20.0)
    tr = m.update(20.0 + CAUSES["soc hot"][2])
    assert tr["from"] == SAFE and tr["to"] == CONSTRAINED and tr["cause"] == "soc hot cleared"
    names = [a[0] for a in m.active()]
    assert names == ["model hash"]


def test_overrides_and_bounded_log():
    m = ModeManager({"soc hot": {"enter_s": 0.0, "exit_s": 0.0}}, max_log=3)
    for i in range(10):
        m.report("soc hot", i % 2 == 0, float(i))
        m.update(float(i))
    assert len(m.transitions) == 3
    assert m.total == 10
    assert m.counts["soc hot"] == 5 and m.counts["soc hot cleared"] == 5


def test_capability_table_is_monotonic():
    # a more severe mode never allows more than a less severe one
    order = [FULL, CONSTRAINED, SAFE]
    for cap in CAPABILITIES[FULL]:
        allowed = [CAPABILITIES[m][cap] for m in order]
        for i in range(1, len(allowed)):
            assert not (allowed[i] and not allowed[i - 1])
