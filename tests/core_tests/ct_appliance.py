from hearth.core.appliance import Appliance, status_text
from hearth.core import causes as C
from hearth.core.governor import limits_from
from hearth.core.log import Log, WARN, DEBUG
from hearth.core.modes import SAFE


def make():
    a = Appliance(limits_from(), listen_window_s=5.0)
    a.sensors["cavity_c"] = 20.0
    return a


def test_buttons_drive_the_oven():
    a = make()
    a.press("up", 0.0)
    assert a.ctl.setpoint == 190.0
    a.press("down", 0.0)
    a.press("down", 0.0)
    assert a.ctl.setpoint == 170.0
    a.press("timer", 0.0)
    assert a.ctl.timer_s == 300.0
    a.press("light", 0.0)
    assert a.decide(0.1)["lamp"]
    a.press("start", 1.0)
    assert a.decide(1.1)["heater"]
    assert a.ring == "orange-fill"
    a.press("stop", 2.0)
    assert not a.decide(2.1)["heater"]


def test_wake_word_opens_attention_window():
    a = make()
    a.detections([("okay_nabu", 3.0, 0.97)], 3.1)
    a.decide(3.2)
    assert a.attentive(3.2) and a.ring == "blue-spin"
    a.decide(8.2)
    assert not a.attentive(8.2)
    assert a.metrics.detections == {"okay_nabu": 1}


def test_alarm_event_and_ring_priority():
    a = make()
    a.press("start", 0.0)
    a.detections([("okay_nabu", 0.5, 0.9)], 0.5)
    a.detections([("smoke_alarm", 1.0, 1.0, "3k")], 1.0)
    out = a.decide(1.1)
    assert not out["heater"] and out["buzzer"]
    assert a.ring == "red-flash"            # alarm beats attention


def test_mode_shown_and_logged():
    log = Log(level=DEBUG)
    a = Appliance(limits_from(), log=log)
    a.modes.report(C.SOC_HOT, True, 0.0, "91 C")
    a.decide(10.0)
    assert a.modes.mode == SAFE and a.ring == "red-slow"
    st = a.status()
    assert st["mode"] == SAFE and st["causes"][0]["cause"] == C.SOC_HOT
    assert "SAFE" in status_text(st)
    msgs = [r[3] for r in log.records if r[1] == WARN]
    assert "FULL -> SAFE: soc hot (91 C)" in msgs


def test_log_levels_per_module():
    log = Log()
    log.set_level("warn")
    log.emit(0.0, 20, "oven", "hidden")
    log.set_level("debug", "oven")
    log.emit(0.0, 10, "oven", "shown")
    log.emit(0.0, 20, "detect", "hidden too")
    assert [r[3] for r in log.records] == ["shown"]
    try:
        log.set_level("loud")
        raise AssertionError("accepted a bad level")
    except ValueError:
        pass
