"""Deterministic oven controller: thermostat with hysteresis, cook timer.

The controller knows how to cook; it does not decide what is allowed. Every
command reaches it through the SafetyGovernor, and the governor has the last
word on every actuator each tick.
"""

IDLE = "idle"
PREHEAT = "preheat"
READY = "ready"          # reached the setpoint at least once this session


class OvenController:
    def __init__(self, limits):
        self.limits = limits
        self.setpoint = limits["default_setpoint_c"]
        self.cooking = False
        self.state = IDLE
        self.started_at = None
        self.timer_s = 0.0          # 0 = no cook timer
        self.timer_end = None
        self.heat_demand = False    # thermostat output (before the governor)
        self.lamp = False
        self.events = []            # (kind, detail) since the last drain

    # -- commands (the governor has already allowed them) -------------------
    def start(self, now):
        if not self.cooking:
            self.cooking = True
            self.state = PREHEAT
            self.started_at = now
            self.heat_demand = False
            self.timer_end = now + self.timer_s if self.timer_s > 0 else None
            self.events.append(("cooking started", "%d C" % self.setpoint))

    def stop(self, now, why="stopped"):
        if self.cooking:
            self.events.append(("cooking stopped", why))
        self.cooking = False
        self.state = IDLE
        self.started_at = None
        self.timer_end = None
        self.heat_demand = False

    def set_setpoint(self, value):
        self.setpoint = value

    def set_timer(self, seconds, now):
        self.timer_s = seconds
        if self.cooking:
            self.timer_end = now + seconds if seconds > 0 else None

    def set_lamp(self, on):
        self.lamp = bool(on)

    # -- periodic ------------------------------------------------------------
    def tick(self, now, cavity_c):
        """Thermostat and timer. Returns the heater demand."""
        if not self.cooking:
            self.heat_demand = False
            return False
        if self.timer_end is not None and now >= self.timer_end:
            self.stop(now, "timer done")
            self.events.append(("timer done", ""))
            return False
        if cavity_c is None:
            self.heat_demand = False
            return False
        # Hysteresis band [setpoint - h, setpoint]: switch on at the bottom,
        # off at the top, hold in between so the relay does not chatter.
        if cavity_c <= self.setpoint - self.limits["hysteresis_c"]:
            self.heat_demand = True
        elif cavity_c >= self.setpoint:
            self.heat_demand = False
            if self.state == PREHEAT:
                self.state = READY
                self.events.append(("preheat done", "%d C" % self.setpoint))
        return self.heat_demand

    def drain_events(self):
        ev = self.events
        self.events = []
        return ev
