"""The health check a trial image must pass before it confirms itself.

The application owns the evidence; this class owns the rule. Confirm only
when, continuously for `hold_s` seconds of the main loop:
  * no fault was reported (any fault restarts the clock),
  * the detector is loaded, or deliberately absent (AI is optional: a
    device without a model is healthy; a model that failed to load is not),
  * the console is up.

    hc = HealthCheck(storage_dir, hold_s=board_hold_seconds)
    hc.console_up(); hc.detector("loaded")
    ... every loop iteration: hc.poll()     # confirms once, then is a no-op
    ... on a fault: hc.fault("thermal trip")

poll() returns a HealthResult: `state` is one of NOT_TRIAL (nothing to
confirm), WAITING, CONFIRMED or ERROR (confirm was refused; the launcher
will revert after the remaining attempts), `reason` says why for WAITING and
ERROR. It is also the short string logs and status show: "not-trial",
"waiting: <why>", "confirmed", "error: <why>".
"""
import time

DETECTOR_STATES = ("loaded", "absent", "failed")

NOT_TRIAL = "not-trial"
WAITING = "waiting"
CONFIRMED = "confirmed"
ERROR = "error"


class HealthResult(str):
    """What poll() found: .state and .reason, and as a str the status line."""

    def __new__(cls, state, reason=""):
        self = str.__new__(cls, "%s: %s" % (state, reason) if reason else state)
        self.state = state
        self.reason = reason
        return self


class HealthCheck:
    def __init__(self, storage, hold_s=30.0, clock=time.monotonic, require_console=True):
        self.storage = storage
        self.hold_s = float(hold_s)
        self.clock = clock
        self.require_console = require_console
        self._since = clock()
        self._detector = None
        self._console = False
        self._faults = 0
        self._last_fault = None
        self._done = None           # final poll() result once decided
        self._trial = None          # is the running image a trial? (read once)

    def fault(self, reason=""):
        self._faults += 1
        self._last_fault = reason
        self._since = self.clock()

    def detector(self, state):
        if state not in DETECTOR_STATES:
            raise ValueError("detector state must be one of %s" % (DETECTOR_STATES,))
        self._detector = state

    def console_up(self, up=True):
        self._console = bool(up)

    def why_not(self):
        """None when healthy, else what is missing."""
        if self._detector is None:
            return "detector not reported"
        if self._detector == "failed":
            return "detector failed to load"
        if self.require_console and not self._console:
            return "console not up"
        held = self.clock() - self._since
        if held < self.hold_s:
            return "%.0f of %.0f s without fault" % (held, self.hold_s)
        return None

    def poll(self):
        if self._done is not None:
            return self._done
        from . import api
        from .state import StateError
        if self._trial is None:           # asked once: a loop polls this every iteration
            try:
                self._trial = bool(api.status(self.storage)["trial"])
            except StateError as e:
                if e.code != "not-initialized":
                    raise
                self._trial = False       # not started by the launcher (development run)
        if not self._trial:
            self._done = HealthResult(NOT_TRIAL)
            return self._done
        why = self.why_not()
        if why:
            return HealthResult(WAITING, why)
        try:
            r = api.confirm(self.storage)
        except Exception as e:       # the launcher refused: report, let it revert
            self._done = HealthResult(ERROR, str(e))
            return self._done
        # confirm() answers {"confirmed": False, "note": ...} when the trial
        # was reverted meanwhile: that is not a confirmation
        if isinstance(r, dict) and not r.get("confirmed", False):
            self._done = HealthResult(ERROR, "not confirmed (%s)" % r.get("note", "trial no longer active"))
        else:
            self._done = HealthResult(CONFIRMED)
        return self._done
