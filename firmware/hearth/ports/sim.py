"""The sim board: an oven that exists only in this process.

A first-order thermal model of the cavity (heater power against losses to
the room, much larger losses with the door open), a food probe lagging the
cavity, buttons and the door driven from the console, actuators recorded.
The SoC temperature is a sysfs-style file under the storage directory, so
the same SysfsTemperature port reads it as on a real board, and the console
(or a test) overheats the SoC by writing that file.
"""
import math

from .sensors import write_millidegrees

DEFAULTS = {
    "ambient_c": 22.0,
    "heater_rise_c": 400.0,    # steady-state rise above ambient with the heater on
    "tau_s": 300.0,            # cavity time constant, door closed
    "tau_door_s": 40.0,        # door open
    "food_tau_s": 600.0,       # food probe lag
    "soc_c": 45.0,             # SoC temperature written at start
}


class SimOven:
    def __init__(self, params=None):
        p = dict(DEFAULTS)
        p.update(params or {})
        self.p = p
        self.cavity = p["ambient_c"]
        self.food = p["ambient_c"]
        self.door_open = False
        self.heater = False
        self.heater_on_s = 0.0
        self.cavity_fault = False      # tests: unplugged sensor
        self._k = (None, None, None)   # (dt, door, decay factors) of the last step

    def step(self, dt):
        p = self.p
        kdt, kdoor, k = self._k
        if dt != kdt or self.door_open != kdoor:
            tau = p["tau_door_s"] if self.door_open else p["tau_s"]
            k = (math.exp(-dt / tau), math.exp(-dt / p["food_tau_s"]))
            self._k = (dt, self.door_open, k)
        # Exact solution of dT/dt = (Ta + rise*heater - T) / tau over dt, so a
        # big dt (fast-forward) is as accurate as many small ones.
        target = p["ambient_c"] + (p["heater_rise_c"] if self.heater else 0.0)
        self.cavity = target + (self.cavity - target) * k[0]
        self.food = self.cavity + (self.food - self.cavity) * k[1]
        if self.heater:
            self.heater_on_s += dt


class SimInputs:
    def __init__(self, oven):
        self.oven = oven
        self.pending = []

    def press(self, button):
        self.pending.append(button)

    def poll(self, now):
        presses = ()
        if self.pending:
            presses = self.pending
            self.pending = []
        o = self.oven
        return presses, o.door_open, (None if o.cavity_fault else o.cavity), o.food


class SimOutputs:
    def __init__(self, oven):
        self.oven = oven
        self.state = {"heater": False, "fan": False, "lamp": False, "buzzer": False}
        self.ring = "idle"
        self.switches = 0              # relay operations, for wear figures
        self.last_t = None

    def write(self, outputs, ring, now):
        if self.last_t is not None:
            self.oven.step(now - self.last_t)
        self.last_t = now
        self.ring = ring
        if outputs == self.state:
            return                      # every block but a few: nothing switches
        if outputs["heater"] != self.state["heater"]:
            self.switches += 1
        for k in self.state:
            self.state[k] = bool(outputs.get(k))
        self.oven.heater = self.state["heater"]


def init_soc_file(path, celsius):
    write_millidegrees(path, celsius)
