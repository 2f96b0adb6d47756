"""Safety governor: the only path from any request to the actuators.

Requests come from buttons, the console, the AI (wake word assistant, alarm
listener) and the cloud. The governor checks each one against a policy table
(who may ask for what, in which mode) and against the physical state, and
every tick it re-derives the actuator outputs so these invariants always hold:

  I1 heater on  => door known closed (an unknown door state counts as open)
  I2 heater on  => cavity temperature valid and below the cutoff, and no
                   over-temperature latch (set at the cutoff and by a reading
                   above the sensor's valid range; cleared only by a valid
                   reading below cutoff_reset_c)
  I3 heater on  => cooking, started less than max_on_s ago (auto-off)
  I4 heater on  => no alarm active;  alarm active => buzzer on
  I5 setpoint within [min_setpoint_c, max_setpoint_c]
  I6 a request is applied only if POLICY allows it for its source and the
     mode at that moment; "stop" is allowed to everyone, always
  I7 buttons are never refused because of the mode (only physics refuses
     a button: door open, too hot, alarm not acknowledged, a failed port)
  I8 heater on  => no port fault (a port that raised: the loop reports it
     with fault(); cooking stops and needs a new start once it clears)
"""
from .modes import FULL, CONSTRAINED, SAFE

ALL = (FULL, CONSTRAINED, SAFE)
SOURCES = ("button", "console", "ai", "cloud")

# action -> source -> modes in which that source may ask for it.
# Turning things off is always allowed; only people may silence an alarm.
POLICY = {
    "start":    {"button": ALL, "console": ALL, "ai": (FULL,), "cloud": (FULL,)},
    "stop":     {"button": ALL, "console": ALL, "ai": ALL, "cloud": ALL},
    "setpoint": {"button": ALL, "console": ALL, "ai": (FULL,), "cloud": (FULL,)},
    "timer":    {"button": ALL, "console": ALL, "ai": (FULL, CONSTRAINED), "cloud": (FULL,)},
    "lamp":     {"button": ALL, "console": ALL, "ai": ALL, "cloud": (FULL, CONSTRAINED)},
    "ack":      {"button": ALL, "console": ALL, "ai": (), "cloud": ()},
}

WHAT = {"start": "start heating", "stop": "stop", "setpoint": "change the setpoint",
        "timer": "set the timer", "lamp": "switch the lamp", "ack": "silence the alarm"}

DEFAULT_LIMITS = {
    "default_setpoint_c": 180.0,
    "min_setpoint_c": 50.0,
    "max_setpoint_c": 250.0,
    "hysteresis_c": 5.0,
    "cutoff_c": 290.0,          # over-temperature cutoff
    "cutoff_reset_c": 260.0,    # latch clears below this
    "max_on_s": 4 * 3600.0,     # auto-off after this long cooking
    "max_timer_s": 4 * 3600.0,
    "alarm_hold_s": 30.0,       # buzzer/heater lockout after the last alarm heard
    "fan_on_c": 60.0,           # cooling fan keeps running above this
    "valid_min_c": -40.0,       # a sensor reading outside this range is a fault
    "valid_max_c": 400.0,
}


def door_open(sensors):
    """Open unless the switch reads closed: None, a missing reading or any
    value but False/0 is unknown, and unknown counts as open."""
    d = sensors.get("door_open")
    return not (d is False or d == 0)


def _reading(v):
    """A temperature reading as a number, or None when it is none (a port
    returning junk is a sensor fault, not a crash). NaN and +-inf stay: the
    range checks decide what they mean."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return v


def limits_from(overrides=None):
    lim = {}
    for k in DEFAULT_LIMITS:
        lim[k] = DEFAULT_LIMITS[k]
    for k in (overrides or {}):
        if k not in DEFAULT_LIMITS:
            raise KeyError(k)
        lim[k] = float(overrides[k])
    return lim


class SafetyGovernor:
    def __init__(self, controller, limits, cloud_enabled=False):
        self.ctl = controller
        self.lim = limits
        self.cloud_enabled = cloud_enabled
        self.overtemp = False
        self.alarm_until = None      # alarm active while now < alarm_until
        self.alarm_kind = ""
        self.acked = False
        self.outputs = {"heater": False, "fan": False, "lamp": False, "buzzer": False}
        self.refused = 0
        self.events = []
        self.port_fault = ""         # why a port failed ('' while all ports work)

    # -- requests --------------------------------------------------------------
    def request(self, source, action, value, mode, now, sensors):
        """Ask for `action`. Returns (ok, reason)."""
        rule = POLICY.get(action)
        if rule is None:
            return self._refuse("unknown action " + str(action))
        if source not in rule:
            return self._refuse("unknown source " + str(source))
        if source == "cloud" and not self.cloud_enabled:
            return self._refuse("cloud control is off")
        if mode not in rule[source]:
            return self._refuse("%s may not %s in %s mode" % (source, WHAT[action], mode))
        if action == "stop":
            # Stop also acknowledges an alarm when a person presses it.
            if source in ("button", "console"):
                self._ack()
            self.ctl.stop(now, "%s stop" % source)
            return True, "stopped"
        if action == "ack":
            self._ack()
            return True, "alarm acknowledged"
        if action == "lamp":
            self.ctl.set_lamp(value)
            return True, "lamp " + ("on" if value else "off")
        if action == "setpoint":
            v = _number(value)
            if v is None:
                return self._refuse("setpoint must be a number")
            lo, hi = self.lim["min_setpoint_c"], self.lim["max_setpoint_c"]
            if v < lo or v > hi:
                return self._refuse("setpoint must be %d..%d C" % (lo, hi))
            self.ctl.set_setpoint(v)
            return True, "setpoint %d C" % v
        if action == "timer":
            v = _number(value)
            if v is None or v < 0 or v > self.lim["max_timer_s"]:
                return self._refuse("timer must be 0..%d s" % self.lim["max_timer_s"])
            self.ctl.set_timer(v, now)
            return True, "timer %d s" % v
        # start
        why = self._heat_blocked(now, sensors)
        if why:
            return self._refuse("cannot start: " + why)
        self.ctl.start(now)
        return True, "started"

    def alarm(self, kind, now):
        """An alarm was heard: heater off, buzzer on (always allowed: it only makes things safer)."""
        fresh = not self.alarm_active(now)
        self.alarm_until = now + self.lim["alarm_hold_s"]
        self.alarm_kind = kind
        if fresh:
            self.acked = False
            self.events.append(("alarm", kind))
        if self.ctl.cooking:
            self.ctl.stop(now, kind + " alarm")

    def fault(self, why, now):
        """A port failed (why: which and how) or works again (why = ''). A
        fault stops cooking: the heater stays off until someone starts again."""
        if why and not self.port_fault:
            self.events.append(("port fault", why))
        elif not why and self.port_fault:
            self.events.append(("port fault cleared", self.port_fault))
        self.port_fault = why
        if why and self.ctl.cooking:
            self.ctl.stop(now, "port fault")

    def alarm_active(self, now):
        return self.alarm_until is not None and now < self.alarm_until

    def _ack(self):
        if self.alarm_until is not None and not self.acked:
            self.events.append(("alarm acknowledged", self.alarm_kind))
        self.acked = True
        self.alarm_until = None

    def _refuse(self, reason):
        self.refused += 1
        return False, reason

    def _heat_blocked(self, now, s):
        """Why the heater may not be on right now ('' if it may)."""
        if door_open(s):
            return "door open"
        c = _reading(s.get("cavity_c"))
        if self.overtemp or (c is not None and c == c and c >= self.lim["cutoff_c"]):
            return "over temperature"
        if c is None or c != c or c < self.lim["valid_min_c"] or c > self.lim["valid_max_c"]:
            return "cavity sensor fault"
        if self.port_fault:
            return "port fault (%s)" % self.port_fault
        if self.alarm_active(now):
            return "alarm active (press stop)"
        return ""

    # -- every tick ------------------------------------------------------------
    def tick(self, now, sensors):
        """Run the controller and derive the outputs with every invariant enforced."""
        lim = self.lim
        c = _reading(sensors.get("cavity_c"))
        valid = not (c is None or c != c or c < lim["valid_min_c"] or c > lim["valid_max_c"])
        # Above the valid range is too hot or a probe shorted high: either
        # way it latches like the cutoff (below the range is only a fault).
        hot = valid and c >= lim["cutoff_c"] or (c is not None and c == c and c > lim["valid_max_c"])
        if hot and not self.overtemp:
            self.overtemp = True
            self.events.append(("over temperature", ("%d C" % c) if valid else "reading above the sensor range"))
            self.ctl.stop(now, "over temperature")
        elif self.overtemp and valid and c < lim["cutoff_reset_c"]:
            self.overtemp = False
            self.events.append(("over temperature cleared", "%d C" % c))
        if self.ctl.cooking and self.ctl.started_at is not None \
                and now - self.ctl.started_at >= lim["max_on_s"]:
            self.ctl.stop(now, "auto-off")
            self.events.append(("auto-off", "%d s" % lim["max_on_s"]))
        if self.alarm_until is not None and not self.alarm_active(now):
            self.alarm_until = None
            self.events.append(("alarm cleared", self.alarm_kind))

        demand = self.ctl.tick(now, c if valid else None)
        heater = demand and self.ctl.cooking and not self._heat_blocked(now, sensors)
        out = self.outputs
        out["heater"] = heater
        out["buzzer"] = self.alarm_active(now)
        out["fan"] = self.ctl.cooking or (valid and c >= lim["fan_on_c"]) or not valid
        out["lamp"] = self.ctl.lamp or door_open(sensors)
        return out

    def drain_events(self):
        if not self.events and not self.ctl.events:
            return ()                   # every tick but a few: no lists to make
        for e in self.ctl.drain_events():
            self.events.append(e)
        ev = self.events
        self.events = []
        return ev


def _number(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    if f != f or f in (float("inf"), float("-inf")):
        return None
    return f
