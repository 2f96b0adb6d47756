from hearth.core.controller import OvenController
from hearth.core.governor import SafetyGovernor, limits_from, POLICY
from hearth.core.modes import FULL, CONSTRAINED, SAFE
from ct_util import raises


def make(**lim):
    limits = limits_from(lim)
    ctl = OvenController(limits)
    return ctl, SafetyGovernor(ctl, limits), limits


def sensors(door=False, c=20.0):
    return {"door_open": door, "cavity_c": c}


def test_limits_reject_unknown_key():
    raises(KeyError, limits_from, {"max_temp": 1})


def test_start_heats_until_setpoint_with_hysteresis():
    ctl, gov, lim = make()
    ok, why = gov.request("button", "start", None, FULL, 0.0, sensors())
    assert ok, why
    assert gov.tick(1.0, sensors(c=100.0))["heater"]
    assert not gov.tick(2.0, sensors(c=ctl.setpoint))["heater"]
    # inside the band: stays off
    assert not gov.tick(3.0, sensors(c=ctl.setpoint - lim["hysteresis_c"] / 2))["heater"]
    assert gov.tick(4.0, sensors(c=ctl.setpoint - lim["hysteresis_c"]))["heater"]
    # inside the band on the way up: stays on
    assert gov.tick(5.0, sensors(c=ctl.setpoint - 1.0))["heater"]


def test_door_open_forces_heater_off_and_blocks_start():
    ctl, gov, _ = make()
    gov.request("button", "start", None, FULL, 0.0, sensors())
    assert gov.tick(1.0, sensors(c=50.0))["heater"]
    out = gov.tick(2.0, sensors(door=True, c=50.0))
    assert not out["heater"] and out["lamp"]
    assert gov.tick(3.0, sensors(c=50.0))["heater"]       # resumes when closed
    gov.request("button", "stop", None, FULL, 4.0, sensors())
    ok, why = gov.request("button", "start", None, FULL, 5.0, sensors(door=True))
    assert not ok and "door" in why


def test_over_temperature_latches_until_reset_level():
    ctl, gov, lim = make()
    gov.request("button", "start", None, FULL, 0.0, sensors())
    gov.tick(1.0, sensors(c=lim["cutoff_c"] + 1))
    assert gov.overtemp and not ctl.cooking
    ok, why = gov.request("button", "start", None, FULL, 2.0, sensors(c=lim["cutoff_c"] - 5))
    assert not ok and "over temperature" in why
    gov.tick(3.0, sensors(c=lim["cutoff_reset_c"] - 1))
    assert not gov.overtemp
    ok, _ = gov.request("button", "start", None, FULL, 4.0, sensors(c=lim["cutoff_reset_c"] - 1))
    assert ok


def test_sensor_fault_means_no_heat():
    ctl, gov, _ = make()
    gov.request("button", "start", None, FULL, 0.0, sensors())
    for bad in (None, float("nan"), -300.0, 5000.0, "hot", True, [200.0]):
        out = gov.tick(1.0, sensors(c=bad))
        assert not out["heater"] and out["fan"]


def test_auto_off_after_max_on():
    ctl, gov, _ = make(max_on_s=100.0)
    gov.request("button", "start", None, FULL, 0.0, sensors())
    assert gov.tick(99.0, sensors(c=20.0))["heater"]
    assert not gov.tick(100.0, sensors(c=20.0))["heater"]
    assert not ctl.cooking
    kinds = [e[0] for e in gov.drain_events()]
    assert "auto-off" in kinds


def test_alarm_stops_heat_sounds_buzzer_and_needs_a_person():
    ctl, gov, lim = make()
    gov.request("button", "start", None, FULL, 0.0, sensors())
    gov.alarm("smoke", 1.0)
    out = gov.tick(1.1, sensors())
    assert not out["heater"] and out["buzzer"] and not ctl.cooking
    ok, why = gov.request("button", "start", None, FULL, 2.0, sensors())
    assert not ok and "alarm" in why
    ok, _ = gov.request("ai", "ack", None, FULL, 2.5, sensors())
    assert not ok                                   # only people silence alarms
    ok, _ = gov.request("button", "stop", None, FULL, 3.0, sensors())
    assert ok and not gov.tick(3.1, sensors())["buzzer"]
    # unacknowledged alarms time out
    gov.alarm("co", 10.0)
    assert gov.tick(10.0 + lim["alarm_hold_s"] - 0.1, sensors())["buzzer"]
    assert not gov.tick(10.0 + lim["alarm_hold_s"], sensors())["buzzer"]


def test_policy_ai_and_cloud():
    ctl, gov, lim = make()
    ok, why = gov.request("ai", "start", None, CONSTRAINED, 0.0, sensors())
    assert not ok and "CONSTRAINED" in why
    ok, _ = gov.request("ai", "setpoint", 200, FULL, 0.0, sensors())
    assert ok and ctl.setpoint == 200
    ok, _ = gov.request("ai", "setpoint", 220, SAFE, 0.0, sensors())
    assert not ok and ctl.setpoint == 200
    ok, why = gov.request("cloud", "stop", None, FULL, 0.0, sensors())
    assert not ok and "cloud" in why                # cloud control is off by default
    gov.cloud_enabled = True
    assert gov.request("cloud", "stop", None, SAFE, 0.0, sensors())[0]
    for mode in (FULL, CONSTRAINED, SAFE):
        assert gov.request("ai", "stop", None, mode, 0.0, sensors())[0]


def test_buttons_work_in_every_mode():
    for action in POLICY:
        for mode in (FULL, CONSTRAINED, SAFE):
            assert mode in POLICY[action]["button"]


def test_setpoint_bounds_and_bad_values():
    ctl, gov, lim = make()
    for bad in (lim["max_setpoint_c"] + 1, lim["min_setpoint_c"] - 1, "hot", None, float("nan"), float("inf")):
        ok, _ = gov.request("console", "setpoint", bad, FULL, 0.0, sensors())
        assert not ok
    assert ctl.setpoint == lim["default_setpoint_c"]
    ok, _ = gov.request("console", "bake", None, FULL, 0.0, sensors())
    assert not ok
    ok, _ = gov.request("toaster", "stop", None, FULL, 0.0, sensors())
    assert not ok
    assert gov.refused == 8


def test_reading_above_the_sensor_range_latches_the_cutoff():
    # A probe that reads above its valid range is either far too hot or
    # shorted high: both must latch, not come back by themselves.
    lim = limits_from()
    for high in (lim["valid_max_c"] + 1, float("inf")):
        ctl, gov, lim = make()
        gov.request("button", "start", None, FULL, 0.0, sensors())
        out = gov.tick(1.0, sensors(c=high))
        assert gov.overtemp and not out["heater"] and not ctl.cooking and out["fan"]
        assert "over temperature" in [e[0] for e in gov.drain_events()]
        gov.tick(2.0, sensors(c=lim["cutoff_reset_c"] + 1))    # back in range, above the reset
        assert gov.overtemp
        gov.tick(3.0, sensors(c=lim["cutoff_reset_c"] - 1))
        ok, why = gov.request("button", "start", None, FULL, 4.0, sensors(c=lim["cutoff_reset_c"] - 1))
        assert gov.overtemp is False and ok, why   # a valid reading below the reset clears it


def test_reading_just_above_the_range_clears_only_below_reset():
    ctl, gov, lim = make()
    gov.request("button", "start", None, FULL, 0.0, sensors())
    gov.tick(1.0, sensors(c=lim["valid_max_c"] + 0.5))
    gov.tick(2.0, sensors(c=None))                 # unreadable: no evidence it cooled
    gov.tick(3.0, sensors(c=float("nan")))
    assert gov.overtemp
    gov.tick(4.0, sensors(c=lim["valid_min_c"] - 1))   # below the range: a fault, not a clear
    assert gov.overtemp
    ok, why = gov.request("button", "start", None, FULL, 5.0, sensors(c=lim["cutoff_c"] - 1))
    assert not ok and "over temperature" in why


def test_reading_below_the_range_is_a_fault_that_does_not_latch():
    ctl, gov, lim = make()
    gov.request("button", "start", None, FULL, 0.0, sensors())
    assert not gov.tick(1.0, sensors(c=lim["valid_min_c"] - 1))["heater"]
    assert not gov.overtemp
    assert gov.tick(2.0, sensors(c=100.0))["heater"]   # the heater comes back with the sensor


def test_unknown_door_state_counts_as_open():
    for door in (None, "?", float("nan"), 2):
        ctl, gov, _ = make()
        gov.request("button", "start", None, FULL, 0.0, sensors())
        assert gov.tick(1.0, sensors(c=50.0))["heater"]
        out = gov.tick(2.0, sensors(door=door, c=50.0))
        assert not out["heater"] and out["lamp"], door
        gov.request("button", "stop", None, FULL, 3.0, sensors())
        ok, why = gov.request("button", "start", None, FULL, 4.0, sensors(door=door))
        assert not ok and "door" in why, door
    ctl, gov, _ = make()
    ok, why = gov.request("button", "start", None, FULL, 0.0, {"cavity_c": 20.0})   # no door reading at all
    assert not ok and "door" in why
    for closed in (False, 0):
        ctl, gov, _ = make()
        ok, why = gov.request("button", "start", None, FULL, 0.0, sensors(door=closed))
        assert ok, why


def test_a_port_fault_stops_heating_until_cleared_and_restarted():
    ctl, gov, _ = make()
    gov.request("button", "start", None, FULL, 0.0, sensors())
    assert gov.tick(1.0, sensors(c=50.0))["heater"]
    gov.fault("outputs: OSError", 2.0)
    assert not gov.tick(2.0, sensors(c=50.0))["heater"] and not ctl.cooking
    ok, why = gov.request("button", "start", None, FULL, 3.0, sensors(c=50.0))
    assert not ok and "outputs" in why
    gov.fault("", 4.0)                              # the port works again
    assert not gov.tick(4.0, sensors(c=50.0))["heater"]     # no restart by itself
    ok, why = gov.request("button", "start", None, FULL, 5.0, sensors(c=50.0))
    assert ok and gov.tick(5.0, sensors(c=50.0))["heater"], why
    kinds = [e[0] for e in gov.drain_events()]
    assert "port fault" in kinds and "port fault cleared" in kinds
