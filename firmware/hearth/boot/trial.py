"""The trial boot as the application loop runs it: read the launcher's state
once, raise the "trial boot" cause, feed hearth.boot.HealthCheck what the
loop saw, act on its structured result (HealthResult.state / .reason).

The loop owns the evidence (mode, detector, overruns, console); this
adapter turns it into health-check faults and decides what the loop does
next: carry on, settle (the trial is over: recompute the mode now) or stop
(the trial gave up: the supervisor restarts the launcher, which counts the
next trial boot and reverts after the last).
"""
import os

from ..core.causes import DETECTOR_OVER_BUDGET, SAFE, SERVICE_FAILED, TRIAL_BOOT
from ..core.log import ERROR, INFO, WARN
from .health import CONFIRMED, ERROR as REFUSED, NOT_TRIAL, WAITING, HealthResult

# tick() answers
CARRY_ON = None
SETTLED = "settled"
STOP = "stop"


def boot_module(boot):
    """hearth.boot (trial-boot status and the health check) for boot="auto",
    else the object given when it has a status() (tests), else None."""
    if boot == "auto":
        try:
            from .. import boot as mod
        except ImportError:
            return None
        return mod
    return boot if boot is not None and hasattr(boot, "status") else None


class TrialHealth:
    def __init__(self, boot, storage, env, modes, metrics, log, clock, hold_s, deadline_s=None):
        self.boot = boot_module(boot)
        self.storage = storage
        self.env = env
        self.modes = modes
        self.metrics = metrics
        self.log = log
        self.clock = clock              # the loop's audio time: the hold runs on it
        self.hold_s = hold_s
        self.deadline_s = deadline_s
        self.trial = False              # the running image is an unconfirmed trial
        self.health = None              # the HealthCheck while on trial
        self.state = NOT_TRIAL          # the last poll result (a HealthResult, or NOT_TRIAL)
        self.failed = None              # why the trial gave up (deadline, refusal)
        self._console = False
        self._fault = ""                # the last fault reported
        self._overruns_seen = 0

    def start(self, now):
        """Read the launcher's state once; on a trial image, start the health check.
        Returns True when a health check runs (it wants the detector's state)."""
        st = None
        if self.boot is not None:
            try:
                st = self.boot.status(self.storage)
            except Exception:           # not started by the launcher (no slots, fresh sim storage)
                st = None
        self.trial = bool(st and st.get("trial"))
        if self.trial and not self._launched_as_trial():
            # The storage runs a trial, but this process is not that image as
            # the launcher started it (a development run, `hearth sim` on the
            # same storage): confirming would vouch for code that is not running.
            self.trial = False
            self.log.emit(now, WARN, "boot", "storage holds trial image %s, but this process was not "
                          "started by the launcher as that trial: not running its health check"
                          % st.get("version", "?"))
        if not self.trial:
            self.modes.report(TRIAL_BOOT, False, now)
            return False
        detail = "new image on trial: version %s, boot %s of %s" % (
            st.get("version", "?"), st.get("attempts", "?"), st.get("max_attempts", "?"))
        self.modes.report(TRIAL_BOOT, True, now, detail)
        self.health = self.boot.HealthCheck(self.storage, hold_s=self.hold_s, clock=self.clock)
        self.state = WAITING
        self._overruns_seen = self.metrics.overruns["block"]
        if self._console:
            self.health.console_up()
        self.log.emit(now, WARN, "boot", "%s: confirms after %g s without fault, with the detector "
                      "loaded (or deliberately absent) and the console up" % (detail, self.hold_s))
        return True

    def _launched_as_trial(self):
        """Started by `python -m hearth.boot boot` as the trial of this storage?"""
        from . import contract
        launch = contract.parse(self.env)
        return (launch.trial and launch.storage is not None
                and os.path.realpath(launch.storage) == os.path.realpath(str(self.storage)))

    def console_up(self):
        self._console = True
        if self.health is not None:
            self.health.console_up()

    def detector(self, state):
        """"loaded", "absent" (deliberately without AI) or "failed"."""
        if self.health is not None:
            self.health.detector(state)

    def fault(self, reason, now):
        if self.health is None:
            return
        self.health.fault(reason)
        if reason != self._fault:
            self._fault = reason
            self.log.emit(now, WARN, "boot", "trial health check: %s (hold time restarts)" % reason)

    def tick(self, now):
        """Feed the health check what the loop saw, then let it decide (on
        control turns). Returns CARRY_ON, SETTLED or STOP."""
        if self.health is None:
            return CARRY_ON
        modes = self.modes
        if modes.mode == SAFE:
            self.fault("mode SAFE", now)        # held while SAFE: the hold restarts each tick
        elif modes.causes[DETECTOR_OVER_BUDGET].active:
            self.fault("detector over its latency budget", now)
        if modes.causes[SERVICE_FAILED].raw:     # a service of this image crashed: not healthy
            self.fault("service failed (%s)" % modes.causes[SERVICE_FAILED].detail, now)
        ov = self.metrics.overruns["block"]
        if ov != self._overruns_seen:
            self._overruns_seen = ov
            self.fault("block overrun (loop behind real time)", now)
        try:
            r = self.health.poll()
        except Exception as e:                  # unreadable launcher state: report, let it revert
            r = HealthResult(REFUSED, str(e))
        self.state = r
        if r.state == CONFIRMED or r.state == NOT_TRIAL:
            self.health = None
            self.trial = False
            self.log.emit(now, INFO, "boot", "health check passed: image confirmed" if r.state == CONFIRMED
                          else "image no longer on trial (confirmed elsewhere)")
            modes.report(TRIAL_BOOT, False, now)
            return SETTLED
        if r.state == REFUSED:
            self.health = None                  # stays unconfirmed: the launcher reverts
            self.log.emit(now, ERROR, "boot", "confirm refused (%s): the launcher will revert" % r.reason)
            if self.deadline_s is not None:
                self.failed = "confirm refused (%s)" % r.reason
                return STOP                     # the next boot counts the next attempt
            return CARRY_ON
        if self.deadline_s is not None and now >= self.deadline_s:
            self.health = None
            self.failed = "not healthy after %g s (%s)" % (now, r.reason or r)
            self.log.emit(now, ERROR, "boot", "trial image %s: stopping so the launcher counts the next "
                          "boot" % self.failed)
            return STOP
        return CARRY_ON
