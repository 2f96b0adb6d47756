"""The cooperative application loop: capture -> detect -> decide -> actuate -> services.

One turn per audio block (board [audio] block_ms, >= 100 ms). Each stage is
timed against its budget from the board file ([budgets]; hearth.looptimes);
a stage over its budget counts an overrun, a turn longer than the block it
processed counts a block overrun (the loop fell behind real time). A turn
that finds the watchdog due kicks it (sd_notify WATCHDOG=1 at half the
interval systemd asked for): a loop that stops turning stops kicking.
After actuate the loop polls its services (the console, an uploader, ...:
hearth.core.services), each within its own budget; with none registered
that costs one test of an empty list.

What the loop decides comes from cause producers in hearth.core (SoC
thermal, audio health, detector quality and budget) and the trial-boot
adapter (hearth.boot.trial); they report the named causes of
hearth.core.causes. The ports are built from the board in hearth.wiring.

Time is audio time: samples consumed / rate. On a real board capture blocks
until the samples exist, so audio time is real time; the sim either paces
itself to the wall clock (interactive) or runs as fast as it can (scripts,
soak). Decisions never read the wall clock, so a scripted run is repeatable.
Wall time (App.wall, hearth.ports.clock) is there for what must name the
date: update metadata expiry, telemetry timestamps; it may jump.
"""
import os
import time

import numpy as np

from . import exitcodes
from .core import causes as C
from .core.alarm import AlarmListener
from .core.appliance import Appliance
from .core.audiohealth import AudioHealth, classify
from .core.budget import DetectorBudget
from .core.governor import limits_from
from .core.log import Log, INFO, WARN, ERROR
from .core.quality import DetectorQuality, QualityMonitor
from .core.services import Services
from .core.thermal import SocThermal
from .looptimes import STAGES, TIMES_BATCH, StageTimes  # noqa: F401 (STAGES, TIMES_BATCH: re-exported)
from .ports.clock import WallClock
from .ports.detector import open_detector
from .ports.dsp import block_stats, tone_analyzer

# The controller and governor tick at least once per CONTROL_PERIOD_S (a
# whole number of blocks: App.control_every), like any oven controller, and
# at once on anything that matters sooner: a button, the door, the cavity
# probe at the cutoff or unreadable (these three are read every block), a
# detection, a request, a mode cause waiting out its hysteresis, the
# detector over its budget. The food probe, the microphone health check
# (which samples the control turn's block; a degradation must persist 5 s,
# so a lasting one is seen at least five times) and the detector's quality
# summary run on control turns. (Every Python line run per block costs
# twice: once, and again in the caches the detector flushed.)
CONTROL_PERIOD_S = 1.0
_NEVER = float("inf")

# A port (inputs, outputs, sensors, audio, watchdog, detector, assistant)
# that raises is a fault, not the end of the loop: the governor stops
# cooking and refuses heat (hearth.core.governor I8), the mode goes SAFE
# ("port failed"), the loop turns on with the failed reading taken as
# unknown (door open, sensor fault, silence). The fault clears after this
# long without another exception from any port; cooking needs a new start.
PORT_FAULT_CLEAR_S = 10.0
# What the outputs are told when the application stops (exit, SIGTERM):
# nothing on. After the process is gone no one watches the oven, so nothing
# may keep running on its behalf (the hardware must not rely on this alone:
# docs/APPLIANCE.md, "What the hardware must add").
SAFE_OUTPUTS = {"heater": False, "fan": False, "lamp": False, "buzzer": False}


# Exit status of the application when a trial image gave up on its health
# check (see App.trial_deadline_s): the supervisor restarts the launcher,
# which counts the next trial boot and reverts after the last one.
EXIT_TRIAL_UNHEALTHY = exitcodes.TRIAL_UNHEALTHY     # 4


def _read_through(part, name):
    """A read-only attribute of the App that is `name` of its `part`."""
    return property(lambda self: getattr(getattr(self, part), name))


class App:
    def __init__(self, board, audio, inputs, outputs, soc, clock, storage,
                 watchdog=None, detector="auto", detector_factory=None, models_dir=None,
                 boot="auto", log=None, timer=time.perf_counter, assistant=None, trial_deadline_s=None,
                 env=None, services=(), wall=None):
        from .boot.trial import TrialHealth
        self.board = board
        self.audio = audio
        self.inputs = inputs
        self.outputs = outputs
        self.soc = soc
        self.clock = clock
        self.wall = wall if wall is not None else WallClock()
        self.storage = storage
        if watchdog is not None and not hasattr(watchdog, "due"):
            watchdog = _KickEveryTurn(watchdog)
        self.watchdog = watchdog
        self.timer = timer
        self.assistant = assistant
        self.log = log or Log()
        det = board.section("detector")
        self.appliance = Appliance(limits_from(board.limits()), board.mode_overrides(),
                                   listen_window_s=det.get("listen_window_s", 8.0), log=self.log)
        self.modes = self.appliance.modes
        self.metrics = self.appliance.metrics
        self.rate = board.get("audio.rate")
        self._rate_f = float(self.rate)
        self.n = board.block_samples
        self.dt = self.n / float(self.rate)
        self.control_every = max(1, int(round(CONTROL_PERIOD_S / self.dt)))
        self.budgets = board.budgets_s()
        self.times = StageTimes(self.metrics, self.budgets)
        self._times = self.times.pending                # the list itself: appended to every turn
        self.metrics.sync = self.flush_metrics
        self.services = Services(self.metrics, self.modes, self.log)
        self._services_live = self.services.live        # the list itself: tested every turn
        for svc in services:
            self.services.add(svc)
        # cause producers
        self.detector_budget = DetectorBudget(self.modes, self.budgets["detect"])
        self._detect_budget = self.detector_budget.budget_s
        self._over_budget = self.detector_budget.cause
        self.thermal = SocThermal(self.modes, board.get("thermal.soc_limit_c"),
                                  board.get("thermal.soc_hysteresis_c"), board.get("thermal.poll_s", 1.0))
        self.audio_health = AudioHealth(self.modes)
        self.cutoff = self.appliance.limits["cutoff_c"]
        q = board.section("quality")
        rng = (q["feature_min"], q["feature_max"]) if "feature_min" in q and "feature_max" in q else None
        self.quality = QualityMonitor(feature_range=rng)
        self.detector_quality = DetectorQuality(self.modes, self.quality)
        tone = tone_analyzer(self.rate)
        self.alarm = AlarmListener(self.rate, analyzer=tone)
        # the analyzers give the statistics of the block they scanned last
        # (computed then, on control turns only); without one, numpy's pass
        self._last_stats = getattr(tone, "last_stats", None)
        self._out_due = _NEVER          # when the outputs need a write without a decision
        self.t = 0.0
        self.running = True
        self.turns = 0
        self.health_at = det.get("health_check_s", 30.0)
        self.models_dir = models_dir
        self.model_specs = det.get("models", [])
        self.detector_factory = detector_factory
        self.detector = None
        self.detector_problems = []     # (cause, detail) from the last (re)load
        self.env = os.environ if env is None else env
        self.boot_trial = TrialHealth(boot, storage, self.env, self.modes, self.metrics, self.log,
                                      self._audio_time, self.health_at, trial_deadline_s)
        self.detector_arg = detector
        self.started = False
        self._port_fault_t = None       # audio time of the last port exception
        self._silence = np.zeros(self.n, np.int16)     # the block read while audio fails
        self.halted = ""                # why shutdown() drove the outputs safe
        self._safe_logged = False

    # what the trial adapter and the audio health producer know, under the
    # names status, __main__ and the tests read
    trial = _read_through("boot_trial", "trial")            # an unconfirmed trial image runs
    health = _read_through("boot_trial", "health")          # its HealthCheck while on trial
    health_state = _read_through("boot_trial", "state")     # the last HealthResult
    trial_failed = _read_through("boot_trial", "failed")    # why the trial gave up
    trial_deadline_s = _read_through("boot_trial", "deadline_s")
    audio_cause = _read_through("audio_health", "kind")

    def start(self):
        """Open the detector and read the boot state (logged, so attach sinks first)."""
        if self.started:
            return
        self.started = True
        if self.detector_arg == "auto":
            self.load_detector()
        else:
            self.detector = self.detector_arg
            if self.detector is None:
                self._detector_problem(C.RUNTIME_MISSING, "no detector configured")
        if self.boot_trial.start(self.t):
            self._report_detector()
        self._mode_update(self.t)
        # One decision before any audio: status and outputs are real from the start.
        try:
            presses, door, cavity = self.inputs.poll(self.t)
        except Exception as e:
            self._port_failed("inputs", e, self.t)
            presses, door, cavity = (), None, None
        self._poll_soc(self.t)
        self._decide(self.t, presses, door, cavity, self.audio_health.kind, (), (), 0.0, True, False)
        self._write_outputs(self.t)
        if self.watchdog is not None:
            try:
                self.watchdog.ready()
            except Exception as e:
                self._port_failed("watchdog", e, self.t)

    def _mode_update(self, now):
        tr = self.modes.update(now)
        if tr is not None:
            self.appliance.log_transition(tr, now)

    # -- detector lifecycle --------------------------------------------------------
    def load_detector(self):
        """(Re)open the detector: verify models, build hearth.detect.Detector."""
        for c in C.DETECTOR_LOAD:
            self.modes.report(c, False, self.t)
        port, problems = open_detector(self.model_specs, self.models_dir or "models",
                                       self.detector_factory, self.rate)
        self.detector = port
        self.detector_problems = list(problems)
        for cause, detail in problems:
            self._detector_problem(cause, detail)
        if port is not None:
            self.log.emit(self.t, INFO, "detect", "detector running: " + ", ".join(port.names))
        self._mode_update(self.t)
        self._report_detector()
        return port, problems

    def _detector_crashed(self, e):
        self.detector = None
        self._port_failed("detector", e, self.t)
        detail = "%s: %s" % (type(e).__name__, e)
        self.detector_problems.append((C.RUNTIME_FAILED, detail))
        self._detector_problem(C.RUNTIME_FAILED, detail)
        self._report_detector()
        self.boot_trial.fault("detector failed", self.t)

    def _port_failed(self, port, e, now):
        """A port raised: a fault that turns the heater off (see PORT_FAULT_CLEAR_S)."""
        why = "%s: %s: %s" % (port, type(e).__name__, e)
        gov = self.appliance.gov
        if why != gov.port_fault:       # once per distinct failure, not once per block
            self.log.emit(now, ERROR, "port", "%s (heater off until it works again)" % why)
        self._port_fault_t = now
        gov.fault(why, now)
        self.modes.report(C.PORT_FAULT, True, now, why)
        self.appliance.dirty = True     # decide (and write the heater off) in this turn

    def _port_recovered(self, now):
        self._port_fault_t = None
        self.appliance.gov.fault("", now)
        self.modes.report(C.PORT_FAULT, False, now)
        self.appliance.dirty = True
        self.log.emit(now, INFO, "port", "no port error for %g s: port fault cleared" % PORT_FAULT_CLEAR_S)

    def _detector_problem(self, cause, detail):
        self.log.emit(self.t, ERROR if cause != C.RUNTIME_MISSING else WARN, "detect", "%s: %s" % (cause, detail))
        self.modes.report(cause, True, self.t, detail)

    # -- one turn ------------------------------------------------------------------------
    def step(self):
        """Process one audio block. Returns False when the audio source has ended.

        Every block: capture, detect, the alarm listener, the buttons, the
        door and the cavity probe. The rest of a decision (the food probe,
        modes, the governor's tick, quality and health checks) runs on
        control turns and at once when anything happened; the outputs are
        written after a decision (and when a blinking light ring needs it),
        the watchdog when due; then the services, if any."""
        if not self.started:
            self.start()
        timer = self.timer
        t0 = self.t
        if self.clock.realtime:
            self.clock.wait_until(t0)     # paced sources (sim, files) wait for real time

        c0 = timer()
        try:
            block = self.audio.read(self.n)
        except Exception as e:
            self._port_failed("audio", e, t0)
            block = self._silence       # time goes on; the audio health check sees silence
            if not self.clock.realtime:
                time.sleep(self.dt)     # no capture to block on: keep to real time
                c0 = timer()            # the pause is pacing, not a late turn (the fault is reported)
        if block is None:
            self.running = False
            self.flush_metrics()
            return False
        turn = self.turns
        control = turn % self.control_every == 0
        c1 = timer()
        now = t0 + len(block) / self._rate_f
        self.t = now

        events = ()
        det = self.detector
        if det is not None:
            if self.modes.nn:
                try:
                    events = det.feed(block, t0)
                except Exception as e:
                    self._detector_crashed(e)
            else:
                try:
                    det.pause()
                except Exception as e:
                    self._detector_crashed(e)
        c2 = timer()

        alarms = self.alarm.feed(block, t0)
        kind = self.audio_health.kind
        if control:                     # the microphone health check
            last_stats = self._last_stats
            kind = classify(last_stats() if last_stats is not None else block_stats(block))
        c3 = timer()

        try:
            presses, door, cavity = self.inputs.poll(now)
        except Exception as e:
            self._port_failed("inputs", e, now)
            presses, door, cavity = (), None, None      # unknown: door open, sensor fault
        if control and self._port_fault_t is not None and now - self._port_fault_t >= PORT_FAULT_CLEAR_S:
            self._port_recovered(now)
        if now >= self.thermal.next:
            self._poll_soc(now)         # a changed verdict leaves modes.pending set
        detect_s = c2 - c1
        app = self.appliance
        # what the governor must hear about now (not at the next control turn)
        urgent = (presses or events or alarms or door != app.sensors["door_open"] or app.dirty
                  or cavity is None or cavity >= self.cutoff or self.modes.pending)
        # (the audio health verdict changes on control turns only)
        decided = (control or urgent or self.assistant is not None
                   or (det is not None and (detect_s > self._detect_budget or self._over_budget.raw)))
        if decided:
            self._decide(now, presses, door, cavity, kind, events, alarms, detect_s, control, urgent)
        c4 = timer()

        if decided or now >= self._out_due:
            self._write_outputs(now)
        wd = self.watchdog
        if wd is not None and now >= wd.due:
            try:
                wd.kick(now)
            except Exception as e:
                self._port_failed("watchdog", e, now)
        c5 = timer()
        end = c5
        if self._services_live:
            self.services.poll(now, timer)      # each timed against its own budget
            end = timer()

        # Stage times go to the histograms in batches (hearth.looptimes); a
        # late turn (services included) is counted at once: the health check reads it.
        m = self.metrics
        if end - c0 > self.dt:
            m.overruns["block"] += 1
        times = self._times
        times.append((c0, c1, c2, c3, c4, c5))
        if len(times) >= TIMES_BATCH:
            self.times.flush()
        m.blocks += 1
        self.turns = turn + 1
        return True

    def flush_metrics(self):
        """Fold the stage times of the last blocks into the latency histograms
        and per-stage overrun counters (metrics readers call this first)."""
        self.times.flush()

    def _write_outputs(self, now):
        if self.halted:
            return                      # stopped: the outputs stay safe
        app = self.appliance
        try:
            due = self.outputs.write(app.outputs, app.ring, now)
        except Exception as e:
            self._port_failed("outputs", e, now)
            due = now                   # write again next block, until it works
        self._out_due = due if due is not None else _NEVER

    def shutdown(self, why="stopped", from_signal=False):
        """Drive the outputs safe (SAFE_OUTPUTS) and keep them so: on exit,
        on SIGTERM. Safe to call more than once. from_signal: called from a
        signal handler, which must not log (the interrupted code may be in the
        middle of a log write); the next call logs."""
        self.running = False
        self.halted = self.halted or why
        app = self.appliance
        if app.ctl.cooking:
            app.ctl.stop(self.t, why)
        app.outputs.update(SAFE_OUTPUTS)    # what status() shows is what the relays were told
        try:
            self.outputs.write(dict(SAFE_OUTPUTS), "off", self.t)
        except Exception as e:          # nothing more software can do: the hardware must
            if not from_signal:
                self.log.emit(self.t, ERROR, "port", "outputs: %s: %s: could not drive them safe (%s)"
                              % (type(e).__name__, e, self.halted))
            return False
        if not from_signal and not self._safe_logged:
            self._safe_logged = True
            self.log.emit(self.t, INFO, "actuate", "outputs safe (%s)" % self.halted)
        return True

    def _decide(self, now, presses, door, cavity, audio_kind, events, alarms, detect_s, control, urgent):
        app = self.appliance
        modes = self.modes
        s = app.sensors
        s["door_open"] = door
        s["cavity_c"] = cavity
        if control:
            try:
                s["food_c"] = self.inputs.food(now)     # shown, not acted on: once a second
            except Exception as e:
                self._port_failed("inputs", e, now)
                s["food_c"] = None
        if audio_kind != self.audio_health.kind:
            self.audio_health.report(audio_kind, now)
        if self.detector is not None:
            if detect_s > self._detect_budget or self._over_budget.raw:
                self.detector_budget.check(detect_s, now)
            if control:
                self._sample_quality(now)
        if presses:
            for p in presses:
                app.press(p, now)
        if alarms:
            app.detections(alarms, now)
        if events:
            app.detections(events, now)
        if urgent or control or modes.pending:
            app.decide(now)
        if self.assistant is not None and app.attentive(now) and modes.can("assistant"):
            try:
                asked = self.assistant.listen(now) or ()
            except Exception as e:
                self._port_failed("assistant", e, now)
                asked = ()
            for action, value in asked:
                app.request("ai", action, value, now)
        if control and self.boot_trial.health is not None:
            self._trial_tick(now)

    def _poll_soc(self, now):
        """The SoC thermal zone, at its own rate ([thermal] poll_s)."""
        try:
            soc = self.soc.read()
        except Exception as e:
            self._port_failed("soc", e, now)
            soc = None
        self.appliance.sensors["soc_c"] = soc
        self.thermal.report(soc, now)

    def _sample_quality(self, now):
        # What the detector saw since the last control turn (its peaks and
        # feature mean are kept in C): slow averages of tens of seconds,
        # weighted by the audio time the summary covers.
        quality = getattr(self.detector, "quality", None)
        if quality is None:                     # a detector that does not report it
            return
        try:
            probs, feature_mean = quality()
        except Exception as e:
            self._detector_crashed(e)
            return
        self.detector_quality.sample(now, probs, feature_mean)

    # -- trial boot ----------------------------------------------------------------------
    def _audio_time(self):
        return self.t

    def console_up(self):
        """The console answers: one of the health check's conditions."""
        self.boot_trial.console_up()

    def _report_detector(self):
        if self.boot_trial.health is None:
            return
        if self.detector_arg is None or (not self.model_specs and self.detector_arg == "auto"):
            self.boot_trial.detector("absent")      # deliberately without AI: healthy
        elif self.detector is not None and not self.detector_problems:
            self.boot_trial.detector("loaded")
        else:
            # a configured model that does not run is a defect of the image,
            # even when the others run (the appliance itself carries on)
            self.boot_trial.detector("failed")

    def _trial_tick(self, now):
        """Let the trial adapter feed and poll the health check (control turns)."""
        from .boot.trial import SETTLED, STOP
        r = self.boot_trial.tick(now)
        if r == SETTLED:
            self._mode_update(now)
        elif r == STOP:
            self.running = False            # the next boot counts the next attempt

    # -- running ----------------------------------------------------------------------------
    def run(self, seconds=None, until=None):
        """Run turns for `seconds` of audio time (None: until the audio ends or stop()).
        The console and other work run as services (App.services.add)."""
        self.start()
        end = None if seconds is None else self.t + seconds - 1e-9
        try:
            while self.running and (end is None or self.t < end):
                if not self.step():
                    break
                if until is not None and until(self):
                    return True
            return False
        finally:
            self.flush_metrics()

    def stop(self):
        self.running = False

    def status(self):
        st = self.appliance.status()
        st["t"] = self.t
        st["wall"] = self.wall.now()
        st["board"] = self.board.name
        st["detector"] = self.detector.names if self.detector is not None else []
        st["trial"] = self.trial
        st["health"] = str(self.health_state)
        st["services"] = self.services.names()
        st["rss_bytes"] = _rss_bytes()
        st["memory_budget_bytes"] = self.board.get("memory.budget_bytes")
        return st


class _KickEveryTurn:
    """A watchdog port without `due` (hearth.ports lists it): kicked every turn."""

    due = float("-inf")

    def __init__(self, wd):
        self.wd = wd

    def kick(self, now):
        return self.wd.kick(now)

    def __getattr__(self, name):
        return getattr(self.wd, name)


def _rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def build(board, **kw):
    """An App for `board` with the right ports: hearth.wiring.build (here for
    the callers that import it from hearth.app)."""
    from .wiring import build as wire
    return wire(board, **kw)
