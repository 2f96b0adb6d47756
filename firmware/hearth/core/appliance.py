"""The smart oven as portable logic: modes + controller + governor + AI events.

The application loop (hearth.app) owns the ports and the timing; it hands
this object sensor readings, detector/alarm events and requests, and writes
the outputs it returns to the actuators.
"""
from .controller import OvenController
from .governor import SafetyGovernor, door_open
from .log import Log, INFO, WARN, DEBUG
from .metrics import Metrics
from .modes import ModeManager, RING, FULL

ALARM_EVENTS = ("smoke_alarm", "co_alarm")
BUTTONS = ("start", "stop", "up", "down", "light", "timer")
SETPOINT_STEP = 10.0
TIMER_STEP = 300.0


class Appliance:
    def __init__(self, limits, mode_overrides=None, listen_window_s=8.0,
                 cloud_enabled=False, log=None):
        self.limits = limits
        self.ctl = OvenController(limits)
        self.gov = SafetyGovernor(self.ctl, limits, cloud_enabled)
        self.modes = ModeManager(mode_overrides)
        self.metrics = Metrics()
        self.log = log or Log()
        self.listen_window_s = listen_window_s
        self.attention_until = None
        self.attention_model = ""
        self.sensors = {"door_open": False, "cavity_c": None, "food_c": None, "soc_c": None}
        self.outputs = self.gov.outputs
        self.ring = RING[FULL]
        self.now = 0.0
        self.dirty = True            # something changed since the last decide()
        self.shown = {"heater": False, "fan": False, "lamp": False, "buzzer": False,
                      "door_open": False, "ring": self.ring}

    # -- inputs ----------------------------------------------------------------
    def detections(self, events, now):
        """Events from the detector or the alarm listener: (name, t, p, ...)."""
        for ev in events:
            name, t, p = ev[0], ev[1], ev[2]
            self.metrics.detection(name, p)
            if name in ALARM_EVENTS:
                extra = (" band " + ev[3]) if len(ev) > 3 else ""
                self.log.emit(now, WARN, "alarm", "%s heard at t=%.2f p=%.2f%s" % (name, t, p, extra))
                self.gov.alarm(name.replace("_alarm", ""), now)
            else:
                self.log.emit(now, INFO, "detect", "wake word %s at t=%.2f p=%.2f" % (name, t, p))
                self.attention_until = now + self.listen_window_s
                self.attention_model = name
        self.dirty = True
        self._drain(now)

    def attentive(self, now):
        return self.attention_until is not None and now < self.attention_until

    def request(self, source, action, value, now):
        ok, reason = self.gov.request(source, action, value, self.modes.mode, now, self.sensors)
        level = INFO if ok else WARN
        self.log.emit(now, level, "governor", "%s %s%s: %s%s" % (
            source, action, "" if value is None else " " + str(value),
            "allowed" if ok else "refused", "" if ok else " (" + reason + ")"))
        if not ok:
            self.metrics.count("refused")
        self._drain(now)
        return ok, reason

    def press(self, button, now):
        """A physical button. Buttons map to requests from source "button"."""
        if button == "start":
            return self.request("button", "start", None, now)
        if button == "stop":
            return self.request("button", "stop", None, now)
        if button in ("up", "down"):
            step = SETPOINT_STEP if button == "up" else -SETPOINT_STEP
            v = self.ctl.setpoint + step
            v = max(self.limits["min_setpoint_c"], min(self.limits["max_setpoint_c"], v))
            return self.request("button", "setpoint", v, now)
        if button == "light":
            return self.request("button", "lamp", not self.ctl.lamp, now)
        if button == "timer":
            v = self.ctl.timer_s + TIMER_STEP
            if v > self.limits["max_timer_s"]:
                v = 0.0
            return self.request("button", "timer", v, now)
        raise ValueError("unknown button " + str(button))

    # -- every block -------------------------------------------------------------
    def decide(self, now):
        """Modes with hysteresis, then the governor's tick. Returns the outputs."""
        self.now = now
        tr = self.modes.update(now)
        if tr is not None:
            self.log_transition(tr, now)
        out = self.gov.tick(now, self.sensors)
        self._drain(now)
        self.dirty = False
        self.ring = self._ring(now)
        self._show_changes(now, out)
        return out

    def _show_changes(self, now, out):
        # Edges only: one log line per change of an actuator, the door or the ring.
        shown = self.shown
        door = door_open(self.sensors)
        if (door == shown["door_open"] and self.ring == shown["ring"] and out["heater"] == shown["heater"]
                and out["fan"] == shown["fan"] and out["lamp"] == shown["lamp"]
                and out["buzzer"] == shown["buzzer"]):
            return                      # nothing changed (every tick but a few)
        if door != shown["door_open"]:
            shown["door_open"] = door
            self.log.emit(now, INFO, "input", "door " + ("open" if door else "closed"))
        for k in ("heater", "fan", "lamp", "buzzer"):
            if out[k] != shown[k]:
                shown[k] = out[k]
                self.log.emit(now, INFO if k in ("heater", "buzzer") else DEBUG, "actuate",
                              "%s %s" % (k, "on" if out[k] else "off"))
        if self.ring != shown["ring"]:
            shown["ring"] = self.ring
            self.log.emit(now, DEBUG, "actuate", "light ring " + self.ring)

    def log_transition(self, tr, now):
        self.metrics.count("mode transitions")
        self.log.emit(now, WARN, "mode", "%s -> %s: %s%s" % (
            tr["from"], tr["to"], tr["cause"], (" (" + tr["detail"] + ")") if tr["detail"] else ""))

    def _ring(self, now):
        if self.gov.alarm_active(now):
            return "red-flash"
        if self.gov.overtemp:
            return "red-fast"
        if self.attentive(now):
            return "blue-spin"
        if self.modes.mode != FULL:
            return RING[self.modes.mode]
        if self.ctl.cooking:
            return "green" if self.ctl.state == "ready" else "orange-fill"
        return "idle"

    def _drain(self, now):
        self.dirty = True
        for kind, detail in self.gov.drain_events():
            self.metrics.count(kind)
            self.log.emit(now, INFO, "oven", kind + ((": " + detail) if detail else ""))

    # -- reporting -------------------------------------------------------------------
    def status(self):
        s = self.sensors
        self.ring = self._ring(self.now)
        return {
            "mode": self.modes.mode,
            "why": self.modes.why(),
            "causes": [{"cause": c[0], "mode": c[1], "detail": c[2]} for c in self.modes.active()],
            "setpoint_c": self.ctl.setpoint,
            "cooking": self.ctl.cooking,
            "state": self.ctl.state,
            "timer_s": self.ctl.timer_s,
            "cavity_c": s.get("cavity_c"),
            "food_c": s.get("food_c"),
            "soc_c": s.get("soc_c"),
            "door_open": door_open(s),
            "alarm": self.gov.alarm_active(self.now),
            "overtemp": self.gov.overtemp,
            "attention": self.attentive(self.now),
            "actuators": dict(self.outputs),
            "ring": self.ring,
        }


def status_text(st):
    def temp(v):
        return "--" if v is None else "%.1f C" % v
    a = st["actuators"]
    lines = [
        "mode: " + st["why"],
        "oven: %s%s, setpoint %d C%s" % (
            st["state"], " (cooking)" if st["cooking"] else "", st["setpoint_c"],
            (", timer %d s" % st["timer_s"]) if st["timer_s"] else ""),
        "temperatures: cavity %s, food %s, SoC %s" % (temp(st["cavity_c"]), temp(st["food_c"]), temp(st["soc_c"])),
        "door: %s%s%s" % ("open" if st["door_open"] else "closed",
                          ", ALARM" if st["alarm"] else "", ", OVER-TEMPERATURE" if st["overtemp"] else ""),
        "actuators: heater=%s fan=%s lamp=%s buzzer=%s ring=%s" % (
            _onoff(a["heater"]), _onoff(a["fan"]), _onoff(a["lamp"]), _onoff(a["buzzer"]), st["ring"]),
    ]
    if st.get("rss_bytes") and st.get("memory_budget_bytes"):
        lines.append("memory: %.1f MB of %.0f MB budget" % (st["rss_bytes"] / 1048576.0,
                                                           st["memory_budget_bytes"] / 1048576.0))
    return "\n".join(lines)


def _onoff(v):
    return "on" if v else "off"
