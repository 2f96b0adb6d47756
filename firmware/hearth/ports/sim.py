"""The sim board: an oven that exists only in this process.

A first-order thermal model of the cavity (heater power against losses to
the room, much larger losses with the door open), a food probe lagging the
cavity, buttons and the door driven from the console, actuators recorded.
The SoC temperature is a sysfs-style file under the storage directory, so
the same SysfsTemperature port reads it as on a real board, and the console
(or a test) overheats the SoC by writing that file.
"""
import json
import math
import os

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
    """The cavity as a function of time: advance(now) brings it to `now`.

    The model is advanced when something reads it (the cavity probe, every
    block) or switches it (the heater relay): its exact solution makes any
    step as accurate as many short ones, and a repeated step (the same dt,
    door and heater) reuses its map."""

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
        self.t = None                  # model time; None until the first advance()
        self.door_model = False        # door state the model ran with since self.t
        self._k = (None,) * 8          # the last step's map (see _step_map), reused while it fits

    def advance(self, now):
        """Run the model up to `now` with the heater and door it had since the
        last call; later changes apply from `now` on."""
        t = self.t
        if t is None or now > t:
            if t is not None:
                self._run(now - t, self.door_model)
            self.t = now
        self.door_model = self.door_open

    def step(self, dt):
        """Advance by dt with the current heater and door."""
        self._run(dt, self.door_open)
        self.door_model = self.door_open
        if self.t is not None:
            self.t += dt

    def _run(self, dt, door):
        heater = self.heater
        kdt, kdoor, kheater, ea, tc, eb, g, tf = self._k
        if dt != kdt or door != kdoor or heater != kheater:
            kdt, kdoor, kheater, ea, tc, eb, g, tf = self._k = self._step_map(dt, door, heater)
        c = self.cavity
        self.cavity = ea * c + tc
        self.food = eb * self.food + g * c + tf
        if heater:
            self.heater_on_s += dt

    def _step_map(self, dt, door, heater):
        """The exact solution over dt of the two first-order lags
            cavity: dC/dt = (T - C) / tau,   T = ambient + rise * heater
            food:   dF/dt = (C - F) / food_tau
        as an affine map (so one long step, a lazy advance or a fast-forward,
        lands where many short ones do):
            C' = ea C + T (1 - ea)
            F' = eb F + g C + T (1 - eb - g)
        with ea, eb the two decays and g = b/(b-a) (ea - eb), the food's
        response to the cavity's exponential (its limit b dt eb when the time
        constants are equal). Returned with its key (dt, door, heater)."""
        p = self.p
        a = 1.0 / (p["tau_door_s"] if door else p["tau_s"])
        b = 1.0 / p["food_tau_s"]
        ea, eb = math.exp(-a * dt), math.exp(-b * dt)
        g = b / (b - a) * (ea - eb) if abs(b - a) > 1e-12 * b else b * dt * eb
        target = p["ambient_c"] + (p["heater_rise_c"] if heater else 0.0)
        return (dt, door, heater, ea, target * (1.0 - ea), eb, g, target * (1.0 - eb - g))


class SimInputs:
    """Buttons from the console, the door switch, the two temperature probes."""

    def __init__(self, oven):
        self.oven = oven
        self.pending = []

    def press(self, button):
        self.pending.append(button)

    def poll(self, now):
        """Every block: the buttons, the door and the cavity probe."""
        presses = ()
        if self.pending:
            presses = self.pending
            self.pending = []
        o = self.oven
        o.advance(now)                  # the door's state applies from this block on
        return presses, o.door_open, (None if o.cavity_fault else o.cavity)

    def food(self, now):
        """On control turns: the food probe (the model is current since poll)."""
        return self.oven.food


class SimOutputs:
    """The relays and the light ring. With `record` (a file path), every relay
    change is also written there as JSON {"heater", "fan", "lamp", "buzzer",
    "ring", "t"}: the sim board's output record, which outlives the process (so a test
    can read what the outputs were left at after the app exited)."""

    def __init__(self, oven, record=None):
        self.oven = oven
        self.state = {"heater": False, "fan": False, "lamp": False, "buzzer": False}
        self.ring = "idle"
        self.switches = 0              # relay operations, for wear figures
        self.record = record
        if record:
            self._save(None)

    def write(self, outputs, ring, now):
        """Returns None: nothing here needs a write before the outputs change."""
        if outputs == self.state:
            self.ring = ring            # the record follows the relays, not the light ring
            return None
        self.ring = ring
        if outputs["heater"] != self.state["heater"]:
            self.switches += 1
            self.oven.advance(now)      # heated up to now with the old relay state
        for k in self.state:
            self.state[k] = bool(outputs.get(k))
        self.oven.heater = self.state["heater"]
        if self.record:
            self._save(now)
        return None

    def _save(self, now):
        doc = dict(self.state, ring=self.ring, t=now)
        os.makedirs(os.path.dirname(self.record), exist_ok=True)
        # a name of its own per save: a save from a signal handler may run
        # in the middle of another one
        self._saves = getattr(self, "_saves", 0) + 1
        tmp = "%s.%d.tmp" % (self.record, self._saves)
        with open(tmp, "w") as f:
            json.dump(doc, f, sort_keys=True)
        os.replace(tmp, self.record)   # a reader sees the old record or the new one


def read_output_record(path):
    """The last state a SimOutputs(record=path) was told (see SimOutputs)."""
    with open(path) as f:
        return json.load(f)


def init_soc_file(path, celsius):
    write_millidegrees(path, celsius)
