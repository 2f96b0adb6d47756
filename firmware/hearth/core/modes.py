"""Operating modes FULL / CONSTRAINED / SAFE and the causes that select them.

Each cause is a raw condition reported by the application (runtime missing,
SoC too hot, audio silent, ...: the table in hearth.core.causes). A cause
becomes *active* only after its condition has held for `enter_s` and stops
being active only after it has been clear for `exit_s`: that is the hysteresis that keeps the mode from
flapping. The mode is the most severe mode asked for by any active cause.
"""

from .causes import CAUSES, CONSTRAINED, FULL, ORDER, SAFE  # noqa: F401 (CAUSES: re-exported)

MODES = (FULL, CONSTRAINED, SAFE)
SEVERITY = {FULL: 0, CONSTRAINED: 1, SAFE: 2}

# What each mode lets the AI do. SAFE is "deterministic only": the neural
# detector does not run (it costs heat and power, and its input may be bad),
# only the DSP alarm listener and the buttons remain.
#   nn        run the neural detector
#   ai_heat   AI/cloud may start heating or change the setpoint
#   assistant the optional cloud assistant may listen
CAPABILITIES = {
    FULL: {"nn": True, "ai_heat": True, "assistant": True},
    CONSTRAINED: {"nn": True, "ai_heat": False, "assistant": False},
    SAFE: {"nn": False, "ai_heat": False, "assistant": False},
}

# Light-ring pattern shown for each mode when nothing more urgent is shown.
RING = {FULL: "idle", CONSTRAINED: "amber-pulse", SAFE: "red-slow"}


class _Cause:
    def __init__(self, name, mode, enter_s, exit_s):
        self.name = name
        self.mode = mode
        self.enter_s = enter_s
        self.exit_s = exit_s
        self.raw = False          # condition as last reported
        self.since = 0.0          # when `raw` last changed
        self.active = False       # after hysteresis
        self.detail = ""


class ModeManager:
    """Tracks causes and derives the mode; logs every transition with its cause."""

    def __init__(self, overrides=None, max_log=64):
        self.causes = {}
        for name in ORDER:
            mode, enter_s, exit_s, _ = CAUSES[name]
            o = (overrides or {}).get(name)
            if o:
                enter_s = o.get("enter_s", enter_s)
                exit_s = o.get("exit_s", exit_s)
            self.causes[name] = _Cause(name, mode, float(enter_s), float(exit_s))
        self.mode = FULL
        self.nn = True                  # can("nn"), read by the loop every block
        self.transitions = []          # bounded: the last `max_log` entries
        self.max_log = max_log
        self.counts = {}               # cause -> number of transitions it caused
        self.total = 0
        self.pending = 0               # causes whose raw state differs from active

    def report(self, name, condition, now, detail=""):
        """Report the raw condition of cause `name` at time `now`."""
        c = self.causes[name]
        condition = bool(condition)
        if condition != c.raw:
            if c.raw == c.active:
                self.pending += 1
            else:
                self.pending -= 1
            c.raw = condition
            c.since = now
        if condition and detail:
            c.detail = detail

    def update(self, now):
        """Apply hysteresis and recompute the mode. Returns the transition or None."""
        if not self.pending:
            return None                # the common case, every block: nothing to do
        changed = []
        for name in self.causes:
            c = self.causes[name]
            if c.raw != c.active:
                hold = c.enter_s if c.raw else c.exit_s
                if now - c.since >= hold:
                    c.active = c.raw
                    self.pending -= 1
                    changed.append(c)
        if not changed:
            return None
        mode = FULL
        for name in self.causes:
            c = self.causes[name]
            if c.active and SEVERITY[c.mode] > SEVERITY[mode]:
                mode = c.mode
        if mode == self.mode:
            return None
        return self._transition(mode, changed, now)

    def _transition(self, mode, changed, now):
        # Attribute the change to the cause that drives it: among the causes
        # that changed just now, the most severe one that became active when
        # going up, or the most severe one that cleared going down.
        going_up = SEVERITY[mode] > SEVERITY[self.mode]
        cause = None
        for c in changed:
            if c.active == going_up and (cause is None or SEVERITY[c.mode] > SEVERITY[cause.mode]):
                cause = c
        label = cause.name if going_up else cause.name + " cleared"
        entry = {"t": now, "from": self.mode, "to": mode, "cause": label,
                 "detail": cause.detail if going_up else ""}
        self.mode = mode
        self.nn = CAPABILITIES[mode]["nn"]
        self.total += 1
        self.counts[label] = self.counts.get(label, 0) + 1
        self.transitions.append(entry)
        if len(self.transitions) > self.max_log:
            del self.transitions[0]
        return entry

    def active(self):
        """Active causes, most severe first: list of (name, mode, detail)."""
        out = []
        for name in self.causes:
            c = self.causes[name]
            if c.active:
                out.append((name, c.mode, c.detail or CAUSES[name][3]))
        out.sort(key=lambda x: -SEVERITY[x[1]])
        return out

    def why(self):
        """One line for the console: the mode and why."""
        act = self.active()
        if not act:
            return self.mode + ": all features available"
        return self.mode + ": " + "; ".join([a[0] + " (" + a[2] + ")" for a in act])

    def can(self, capability):
        return CAPABILITIES[self.mode][capability]
