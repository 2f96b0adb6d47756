"""Property tests: arbitrary sequences of events, requests and faults never break
the safety invariants (hearth.core.governor docstring, I1-I7).

The oracle here is written independently of the governor's code: it checks the
outputs against the physical situation, not against the policy table.
"""
from hypothesis import example, given, settings, strategies as st

from hearth.core.appliance import Appliance, BUTTONS
from hearth.core.governor import limits_from
from hearth.core.modes import CAUSES, FULL

LIM = limits_from({"max_on_s": 300.0, "alarm_hold_s": 30.0})
PHYSICAL = ("door open", "sensor fault", "over temperature", "alarm")

# Mostly plausible oven temperatures (so the heater is often on and there is
# something to get wrong), sometimes faults and the exact thresholds.
plausible = st.floats(0, 240, allow_nan=False)
temps = st.one_of(plausible, plausible, plausible, st.floats(-100, 600, allow_nan=False),
                  st.just(float("nan")), st.none(), st.sampled_from([float("inf"), float("-inf")]),
                  st.sampled_from(["hot", True, [200.0]]),     # a port returning junk
                  st.sampled_from([LIM["cutoff_c"], LIM["cutoff_reset_c"], LIM["max_setpoint_c"],
                                   LIM["valid_max_c"], LIM["valid_max_c"] + 1, LIM["valid_min_c"] - 1]))
# A door switch reads True/False; a failed read or a bad driver gives anything.
doors = st.one_of(st.booleans(), st.booleans(), st.none(), st.sampled_from([0, 1, 2, "?", float("nan")]))
values = st.one_of(st.integers(50, 250), st.floats(50, 250), st.none(),
                   st.floats(allow_nan=True, allow_infinity=True), st.integers(-1000, 1000),
                   st.text(max_size=4), st.booleans())

start = st.tuples(st.just("press"), st.just("start"))
advance = st.tuples(st.just("advance"), st.one_of(st.floats(0.0, 60.0), st.floats(1000.0, 5000.0)))
event = st.one_of(
    start, start, advance, advance,
    st.tuples(st.just("press"), st.sampled_from(BUTTONS)),
    st.tuples(st.just("request"), st.sampled_from(["console", "ai", "cloud"]),
              st.sampled_from(["start", "stop", "setpoint", "timer", "lamp", "ack"]), values),
    st.tuples(st.just("door"), doors),
    st.tuples(st.just("fault"), st.sampled_from(["", "", "inputs: OSError", "outputs: OSError"])),
    st.tuples(st.just("temp"), temps),
    st.tuples(st.just("alarm"), st.sampled_from(["smoke_alarm", "co_alarm"])),
    st.tuples(st.just("wake"), st.sampled_from(["okay_nabu", "alexa"])),
    st.tuples(st.just("cause"), st.sampled_from(sorted(CAUSES)), st.booleans()),
    st.tuples(st.just("cloud"), st.booleans()),
)


def number(c):
    return isinstance(c, (int, float)) and not isinstance(c, bool) and c == c


def valid(c):
    return number(c) and LIM["valid_min_c"] <= c <= LIM["valid_max_c"]


def closed(door):
    """Only a reading of closed is closed: unknown is open."""
    return door is False or (door is not None and not isinstance(door, str) and door == 0)


def check(a, now, hot_since_latch):
    out = a.outputs
    s = a.sensors
    c = s["cavity_c"]
    if out["heater"]:
        assert closed(s["door_open"]), "I1 heater with door open or unknown (%r)" % (s["door_open"],)
        assert valid(c) and c < LIM["cutoff_c"], "I2 heater with bad/too high temperature %r" % c
        assert not hot_since_latch, "I2 heater before the over-temperature latch cleared"
        assert a.ctl.cooking, "I3 heater without cooking"
        assert now - a.ctl.started_at < LIM["max_on_s"], "I3 heater past auto-off"
        assert not a.gov.alarm_active(now), "I4 heater during alarm"
        assert not a.gov.port_fault, "I8 heater during a port fault"
    if not closed(s["door_open"]):
        assert out["lamp"], "an open (or unknown) door lights the cavity"
    assert out["buzzer"] == a.gov.alarm_active(now), "I4 buzzer must follow the alarm"
    assert LIM["min_setpoint_c"] <= a.ctl.setpoint <= LIM["max_setpoint_c"], "I5 setpoint"


@settings(max_examples=400, deadline=None)
@given(st.lists(event, min_size=1, max_size=60))
@example([("press", "start"), ("advance", 4000.0)])
@example([("press", "start"), ("door", True)])
@example([("press", "start"), ("temp", 300.0), ("temp", 270.0), ("press", "start")])
@example([("press", "start"), ("temp", 401.0), ("temp", 100.0), ("temp", 401.0), ("temp", 270.0), ("press", "start")])
@example([("press", "start"), ("door", None)])
@example([("press", "start"), ("fault", "outputs: OSError"), ("fault", ""), ("press", "start")])
@example([("cause", "runtime missing", True), ("request", "ai", "setpoint", 200)])
@example([("request", "console", "setpoint", 300), ("request", "console", "setpoint", 10)])
@example([("press", "start"), ("alarm", "smoke_alarm"), ("press", "start")])
def test_invariants_hold_for_any_sequence(events):
    a = Appliance(LIM)
    a.sensors["cavity_c"] = 20.0
    now = 0.0
    latched = False        # oracle's own over-temperature latch
    for ev in events:
        kind = ev[0]
        setpoint0, cooking0 = a.ctl.setpoint, a.ctl.cooking
        mode0 = a.modes.mode
        if kind == "press":
            ok, why = a.press(ev[1], now)
            if ok and ev[1] == "start" and not cooking0:
                assert not latched, "I2 started while the over-temperature latch holds"
            # I7: a button is never refused because of the mode
            assert "mode" not in why
            if ev[1] == "stop":
                assert ok and not a.ctl.cooking
        elif kind == "request":
            _, source, action, value = ev
            ok, why = a.request(source, action, value, now)
            # I6: AI and cloud may only heat, or change the setpoint, in FULL mode
            if ok and source in ("ai", "cloud"):
                if a.ctl.cooking and not cooking0:
                    assert mode0 == FULL
                if a.ctl.setpoint != setpoint0:
                    assert mode0 == FULL
                assert action != "ack"                   # only people silence alarms
                if source == "cloud":
                    assert a.gov.cloud_enabled
            if action == "stop" and source in ("console", "ai") or (source == "cloud" and a.gov.cloud_enabled
                                                                   and action == "stop"):
                assert ok and not a.ctl.cooking          # stopping is always allowed
        elif kind == "door":
            a.sensors["door_open"] = ev[1]
        elif kind == "temp":
            a.sensors["cavity_c"] = ev[1]
        elif kind == "advance":
            now += ev[1]
        elif kind == "alarm":
            a.detections([(ev[1], now, 1.0)], now)
            assert not a.ctl.cooking
        elif kind == "wake":
            a.detections([(ev[1], now, 0.9)], now)
        elif kind == "cause":
            a.modes.report(ev[1], ev[2], now)
        elif kind == "cloud":
            a.gov.cloud_enabled = ev[1]
        elif kind == "fault":
            a.gov.fault(ev[1], now)
            if ev[1]:
                assert not a.ctl.cooking, "I8 cooking goes on after a port fault"
        c = a.sensors["cavity_c"]
        if (valid(c) and c >= LIM["cutoff_c"]) or (number(c) and c > LIM["valid_max_c"]):
            latched = True
        elif latched and valid(c) and c < LIM["cutoff_reset_c"]:
            latched = False
        a.decide(now)
        assert a.gov.overtemp == latched, "I2 latch differs from the oracle's"
        check(a, now, latched)
        # after any tick, a press of stop turns the heater off at once
    a.press("stop", now)
    a.decide(now)
    assert not a.outputs["heater"] and not a.ctl.cooking


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0.05, 2.0), st.booleans(), st.floats(0, 1)), min_size=5, max_size=200))
def test_thermostat_never_heats_above_setpoint(steps):
    """Driving the real thermal model: the heater is never on at or above the setpoint."""
    from hearth.ports.sim import SimOven
    oven = SimOven()
    a = Appliance(LIM)
    now = 0.0
    a.sensors["cavity_c"] = oven.cavity
    a.press("start", now)
    for dt, door, _ in steps:
        oven.door_open = door
        oven.heater = a.outputs["heater"]
        oven.step(dt * 60)
        now += dt * 60
        a.sensors.update(door_open=door, cavity_c=oven.cavity)
        out = a.decide(now)
        if out["heater"]:
            assert oven.cavity < a.ctl.setpoint and not door
