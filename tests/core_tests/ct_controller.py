from hearth.core.controller import OvenController, IDLE, PREHEAT, READY
from hearth.core.governor import limits_from


def test_timer_ends_cooking():
    ctl = OvenController(limits_from())
    ctl.set_timer(60.0, 0.0)
    ctl.start(10.0)
    assert ctl.state == PREHEAT
    assert ctl.tick(69.0, 20.0)
    assert not ctl.tick(70.0, 20.0)
    assert not ctl.cooking and ctl.state == IDLE
    kinds = [e[0] for e in ctl.drain_events()]
    assert "timer done" in kinds and "cooking stopped" in kinds


def test_preheat_done_once():
    ctl = OvenController(limits_from())
    ctl.start(0.0)
    ctl.tick(1.0, ctl.setpoint + 1)
    ctl.tick(2.0, ctl.setpoint - 20)
    ctl.tick(3.0, ctl.setpoint + 1)
    assert ctl.state == READY
    kinds = [e[0] for e in ctl.drain_events()]
    assert kinds.count("preheat done") == 1


def test_no_reading_no_demand():
    ctl = OvenController(limits_from())
    ctl.start(0.0)
    assert not ctl.tick(1.0, None)
