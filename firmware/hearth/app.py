"""The cooperative application loop: capture -> detect -> decide -> actuate.

One turn per audio block (board [audio] block_ms, >= 100 ms). Each stage is
timed against its budget from the board file ([budgets]); a stage over its
budget counts an overrun, a turn longer than the block it processed counts a
block overrun (the loop fell behind real time). A turn that finds the
watchdog due kicks it (sd_notify WATCHDOG=1 at half the interval systemd
asked for): a loop that stops turning stops kicking.

Time is audio time: samples consumed / rate. On a real board capture blocks
until the samples exist, so audio time is real time; the sim either paces
itself to the wall clock (interactive) or runs as fast as it can (scripts,
soak). Decisions never read the wall clock, so a scripted run is repeatable.
"""
import os
import time
from itertools import chain

import numpy as np

from . import exitcodes
from .core import audiohealth
from .core.alarm import AlarmListener
from .core.appliance import Appliance
from .core.governor import limits_from
from .core.log import Log, INFO, WARN, ERROR
from .core.quality import QualityMonitor
from .ports.detector import open_detector
from .ports.dsp import block_stats, tone_analyzer

STAGES = ("capture", "detect", "alarm", "decide", "actuate")
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
# Stage times are folded into the latency histograms every TIMES_BATCH blocks
# (a minute of audio; metrics readers fold what is pending first): a fold is
# a dozen numpy calls, some 150 us, whatever the batch size. Until then each
# block's six timer readings wait as one tuple in a list (an append, where
# array('d').extend parses every float again).
TIMES_BATCH = 600

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


def _boot_module(boot):
    """hearth.boot (trial-boot status and the health check) when it is there."""
    if boot == "auto":
        try:
            from . import boot as mod
        except ImportError:
            return None
        return mod
    return boot if boot is not None and hasattr(boot, "status") else None


class App:
    def __init__(self, board, audio, inputs, outputs, soc, clock, storage,
                 watchdog=None, detector="auto", detector_factory=None, models_dir=None,
                 boot="auto", log=None, timer=time.perf_counter, assistant=None, trial_deadline_s=None,
                 env=None):
        self.board = board
        self.audio = audio
        self.inputs = inputs
        self.outputs = outputs
        self.soc = soc
        self.clock = clock
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
        self._detect_budget = self.budgets["detect"]
        self._budget_vec = np.array([self.budgets[s] for s in STAGES])
        self._edges = np.array(self.metrics.latency[STAGES[0]].edges, dtype=np.float64)
        self._stage_offsets = np.arange(len(STAGES)) * (len(self._edges) + 1)
        self._times = []                # (c0..c5) timer readings of blocks not yet in the histograms
        self.metrics.sync = self.flush_metrics
        self._over_budget = self.modes.causes["detector over budget"]
        self.soc_limit = board.get("thermal.soc_limit_c")
        self.soc_hyst = board.get("thermal.soc_hysteresis_c")
        self.soc_poll = board.get("thermal.poll_s", 1.0)
        self.soc_next = 0.0
        self.cutoff = self.appliance.limits["cutoff_c"]
        q = board.section("quality")
        rng = (q["feature_min"], q["feature_max"]) if "feature_min" in q and "feature_max" in q else None
        self.quality = QualityMonitor(feature_range=rng)
        tone = tone_analyzer(self.rate)
        self.alarm = AlarmListener(self.rate, analyzer=tone)
        # the analyzers give the statistics of the block they scanned last
        # (computed then, on control turns only); without one, numpy's pass
        self._last_stats = getattr(tone, "last_stats", None)
        self._out_due = _NEVER          # when the outputs need a write without a decision
        self._quality_t = None          # audio time of the last detector quality summary
        self.t = 0.0
        self.running = True
        self.turns = 0
        self.health_at = det.get("health_check_s", 30.0)
        self.models_dir = models_dir
        self.model_specs = det.get("models", [])
        self.detector_factory = detector_factory
        self.detector = None
        self.detector_problems = []     # (cause, detail) from the last (re)load
        self.audio_cause = ""
        self.boot = _boot_module(boot)
        self.trial = False              # the running image is an unconfirmed trial
        self.health = None              # hearth.boot.HealthCheck while on trial
        self.health_state = "not-trial"
        self.trial_deadline_s = trial_deadline_s
        self.env = os.environ if env is None else env
        self.trial_failed = None        # why the trial gave up (deadline reached)
        self._console = False
        self._fault = ""                # last fault reported to the health check
        self._overruns_seen = 0
        self.detector_arg = detector
        self.started = False
        self._port_fault_t = None       # audio time of the last port exception
        self._silence = np.zeros(self.n, np.int16)     # the block read while audio fails
        self.halted = ""                # why shutdown() drove the outputs safe
        self._safe_logged = False

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
                self._detector_problem("runtime missing", "no detector configured")
        self._start_trial()
        self._mode_update(self.t)
        # One decision before any audio: status and outputs are real from the start.
        try:
            presses, door, cavity = self.inputs.poll(self.t)
        except Exception as e:
            self._port_failed("inputs", e, self.t)
            presses, door, cavity = (), None, None
        self._poll_soc(self.t)
        self._decide(self.t, presses, door, cavity, self.audio_cause, (), (), 0.0, True, False)
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
        for c in ("runtime missing", "runtime failed", "model missing", "model hash"):
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
        self.detector_problems.append(("runtime failed", detail))
        self._detector_problem("runtime failed", detail)
        self._report_detector()
        self._health_fault("detector failed")

    def _port_failed(self, port, e, now):
        """A port raised: a fault that turns the heater off (see PORT_FAULT_CLEAR_S)."""
        why = "%s: %s: %s" % (port, type(e).__name__, e)
        gov = self.appliance.gov
        if why != gov.port_fault:       # once per distinct failure, not once per block
            self.log.emit(now, ERROR, "port", "%s (heater off until it works again)" % why)
        self._port_fault_t = now
        gov.fault(why, now)
        self.modes.report("port failed", True, now, why)
        self.appliance.dirty = True     # decide (and write the heater off) in this turn

    def _port_recovered(self, now):
        self._port_fault_t = None
        self.appliance.gov.fault("", now)
        self.modes.report("port failed", False, now)
        self.appliance.dirty = True
        self.log.emit(now, INFO, "port", "no port error for %g s: port fault cleared" % PORT_FAULT_CLEAR_S)

    def _detector_problem(self, cause, detail):
        self.log.emit(self.t, ERROR if cause != "runtime missing" else WARN, "detect", "%s: %s" % (cause, detail))
        self.modes.report(cause, True, self.t, detail)

    # -- one turn ------------------------------------------------------------------------
    def step(self):
        """Process one audio block. Returns False when the audio source has ended.

        Every block: capture, detect, the alarm listener, the buttons, the
        door and the cavity probe. The rest of a decision (the food probe,
        modes, the governor's tick, quality and health checks) runs on
        control turns and at once when anything happened; the outputs are
        written after a decision (and when a blinking light ring needs it),
        the watchdog when due."""
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
        kind = self.audio_cause
        if control:                     # the microphone health check
            last_stats = self._last_stats
            kind = audiohealth.classify(last_stats() if last_stats is not None else block_stats(block))
        c3 = timer()

        try:
            presses, door, cavity = self.inputs.poll(now)
        except Exception as e:
            self._port_failed("inputs", e, now)
            presses, door, cavity = (), None, None      # unknown: door open, sensor fault
        if control and self._port_fault_t is not None and now - self._port_fault_t >= PORT_FAULT_CLEAR_S:
            self._port_recovered(now)
        if now >= self.soc_next:
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

        # Stage times go to the histograms in batches (one numpy pass per
        # TIMES_BATCH blocks instead of five Python histogram updates per
        # block); a late turn is counted at once (the health check reads it).
        m = self.metrics
        if c5 - c0 > self.dt:
            m.overruns["block"] += 1
        times = self._times
        times.append((c0, c1, c2, c3, c4, c5))
        if len(times) >= TIMES_BATCH:
            self.flush_metrics()
        m.blocks += 1
        self.turns = turn + 1
        return True

    def flush_metrics(self):
        """Fold the stage times of the last blocks into the latency histograms
        and per-stage overrun counters (metrics readers call this first)."""
        times = self._times
        if not times:
            return
        self._times = []
        m = self.metrics
        n = len(times)
        # Few numpy calls on purpose: each costs some 10-20 us on arrays this
        # small, whatever their length (np.diff alone is a Python function).
        c = np.fromiter(chain.from_iterable(times), np.float64, 6 * n).reshape(n, 6)  # no shape discovery
        us = c[:, 1:] - c[:, :-1]                                 # blocks x stages, s
        over = (us > self._budget_vec).sum(axis=0).tolist()
        us *= 1e6
        nb = len(self._edges) + 1
        # bucket = first edge >= v; one bincount over (stage, bucket) pairs
        idx = self._edges.searchsorted(us, side="left")
        idx += self._stage_offsets
        counts = np.bincount(idx.ravel(), minlength=nb * len(STAGES)).tolist()
        sums = us.sum(axis=0).tolist()
        maxes = us.max(axis=0).tolist()
        for j in range(len(STAGES)):
            name = STAGES[j]
            h = m.latency[name]
            base = j * nb
            h.counts = [a + b for a, b in zip(h.counts, counts[base:base + nb])]
            h.n += n
            h.total += sums[j]
            if maxes[j] > h.max:
                h.max = maxes[j]
            if over[j]:
                m.overruns[name] += over[j]

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
        if audio_kind != self.audio_cause:
            self._audio_changed(audio_kind, now)
        if self.detector is not None:
            over = detect_s > self._detect_budget
            if over or self._over_budget.raw:   # else reporting "not over" again changes nothing
                modes.report("detector over budget", over, now,
                             "%.1f ms > %.1f ms" % (detect_s * 1e3, self._detect_budget * 1e3) if over else "")
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
        if control and self.health is not None:
            self._health_tick(now)

    def _poll_soc(self, now):
        """The SoC thermal zone, at its own rate ([thermal] poll_s)."""
        modes = self.modes
        self.soc_next = now + self.soc_poll
        try:
            soc = self.soc.read()
        except Exception as e:
            self._port_failed("soc", e, now)
            soc = None
        self.appliance.sensors["soc_c"] = soc
        hot = soc is not None and (soc > self.soc_limit or
                                   (modes.causes["soc hot"].raw and soc > self.soc_limit - self.soc_hyst))
        modes.report("soc hot", hot, now, "%.1f C > %.1f C" % (soc, self.soc_limit) if hot else "")

    def _audio_changed(self, audio_kind, now):
        modes = self.modes
        if self.audio_cause:
            modes.report(audiohealth.CAUSE[self.audio_cause], False, now)
        if audio_kind:
            modes.report(audiohealth.CAUSE[audio_kind], True, now)
        self.audio_cause = audio_kind

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
        last, self._quality_t = self._quality_t, now
        if last is None or now <= last:
            return                              # the first summary: nothing to weigh it by
        if probs is not None or feature_mean is not None:
            low, out = self.quality.update(now - last, probs, feature_mean)
            self.modes.report("low confidence", low, now)
            self.modes.report("features out of range", out, now)

    # -- trial boot ----------------------------------------------------------------------
    def _start_trial(self):
        """Read the launcher's state once; on a trial image, start the health check."""
        st = None
        if self.boot is not None:
            try:
                st = self.boot.status(self.storage)
            except Exception:       # not started by the launcher (no slots, fresh sim storage)
                st = None
        self.trial = bool(st and st.get("trial"))
        if self.trial and not self._launched_as_trial():
            # The storage runs a trial, but this process is not that image as
            # the launcher started it (a development run, `hearth sim` on the
            # same storage): confirming would vouch for code that is not running.
            self.trial = False
            self.log.emit(self.t, WARN, "boot", "storage holds trial image %s, but this process was not "
                          "started by the launcher as that trial: not running its health check"
                          % st.get("version", "?"))
        if not self.trial:
            self.modes.report("trial boot", False, self.t)
            return
        detail = "new image on trial: version %s, boot %s of %s" % (
            st.get("version", "?"), st.get("attempts", "?"), st.get("max_attempts", "?"))
        self.modes.report("trial boot", True, self.t, detail)
        self.health = self.boot.HealthCheck(self.storage, hold_s=self.health_at, clock=self._audio_time)
        self.health_state = "waiting"
        self._overruns_seen = self.metrics.overruns["block"]
        if self._console:
            self.health.console_up()
        self._report_detector()
        self.log.emit(self.t, WARN, "boot", "%s: confirms after %g s without fault, with the detector "
                      "loaded (or deliberately absent) and the console up" % (detail, self.health_at))

    def _launched_as_trial(self):
        """Started by `python -m hearth.boot boot` as the trial of this storage?"""
        from .boot import contract
        launch = contract.parse(self.env)
        return (launch.trial and launch.storage is not None
                and os.path.realpath(launch.storage) == os.path.realpath(str(self.storage)))

    def _audio_time(self):
        return self.t

    def console_up(self):
        """The console answers: one of the health check's conditions."""
        self._console = True
        if self.health is not None:
            self.health.console_up()

    def _report_detector(self):
        if self.health is None:
            return
        if self.detector_arg is None or (not self.model_specs and self.detector_arg == "auto"):
            self.health.detector("absent")          # deliberately without AI: healthy
        elif self.detector is not None and not self.detector_problems:
            self.health.detector("loaded")
        else:
            # a configured model that does not run is a defect of the image,
            # even when the others run (the appliance itself carries on)
            self.health.detector("failed")

    def _health_fault(self, reason):
        if self.health is None:
            return
        self.health.fault(reason)
        if reason != self._fault:
            self._fault = reason
            self.log.emit(self.t, WARN, "boot", "trial health check: %s (hold time restarts)" % reason)

    def _health_tick(self, now):
        """Feed the health check what the loop saw, then let it decide (on control turns)."""
        hc = self.health
        if self.modes.mode == "SAFE":
            self._health_fault("mode SAFE")         # held while SAFE: the hold restarts each tick
        elif self.modes.causes["detector over budget"].active:
            self._health_fault("detector over its latency budget")
        ov = self.metrics.overruns["block"]
        if ov != self._overruns_seen:
            self._overruns_seen = ov
            self._health_fault("block overrun (loop behind real time)")
        try:
            r = hc.poll()
        except Exception as e:                  # unreadable launcher state: report, let it revert
            r = "error: %s" % e
        self.health_state = r
        if r == "confirmed" or r == "not-trial":
            self.health = None
            self.trial = False
            self.log.emit(now, INFO, "boot", "health check passed: image confirmed" if r == "confirmed"
                          else "image no longer on trial (confirmed elsewhere)")
            self.modes.report("trial boot", False, now)
            self._mode_update(now)
        elif r.startswith("error"):
            self.health = None                  # stays unconfirmed: the launcher reverts
            self.log.emit(now, ERROR, "boot", "confirm refused (%s): the launcher will revert" % r[7:])
            if self.trial_deadline_s is not None:
                self.trial_failed = "confirm refused (%s)" % r[7:]
                self.running = False            # the next boot counts the next attempt
        elif self.trial_deadline_s is not None and now >= self.trial_deadline_s:
            self.health = None
            self.trial_failed = "not healthy after %g s (%s)" % (now, r[9:] if r.startswith("waiting: ") else r)
            self.log.emit(now, ERROR, "boot", "trial image %s: stopping so the launcher counts the next "
                          "boot" % self.trial_failed)
            self.running = False

    # -- running ----------------------------------------------------------------------------
    def run(self, seconds=None, until=None, poll=None):
        """Run turns for `seconds` of audio time (None: until the audio ends or stop())."""
        self.start()
        end = None if seconds is None else self.t + seconds - 1e-9
        try:
            while self.running and (end is None or self.t < end):
                if poll is not None:
                    poll()
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
        st["board"] = self.board.name
        st["detector"] = self.detector.names if self.detector is not None else []
        st["trial"] = self.trial
        st["health"] = self.health_state
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


# -- construction ------------------------------------------------------------------------
def sim_ports(board, audio_spec=None, realtime=False):
    """Ports for the sim board: in-process oven, room noise or a file, SoC file."""
    from .ports import audio as audio_mod
    from .ports.clock import MonotonicClock, VirtualClock
    from .ports.sensors import SysfsTemperature, write_millidegrees
    from .ports.sim import SimOven, SimInputs, SimOutputs

    oven = SimOven(board.section("sim"))
    zone = board.path_of("thermal.zone")
    write_millidegrees(zone, oven.p["soc_c"])
    src = audio_mod.open_source(audio_spec or "room", board.get("audio.rate"))
    return {
        "oven": oven,
        "audio": audio_mod.Mixer(src, board.get("audio.rate")),
        "inputs": SimInputs(oven),
        "outputs": SimOutputs(oven, record=sim_output_record(board)),
        "soc": SysfsTemperature(zone),
        "clock": MonotonicClock() if realtime else VirtualClock(),
    }


def sim_output_record(board):
    """Where the sim board records its outputs (hearth.ports.sim.SimOutputs)."""
    return os.path.join(board.storage_root, "sim", "outputs.json")


def linux_ports(board, audio_spec=None):
    """Ports for a real Linux board: ALSA (or a file), GPIO, sysfs sensors."""
    from .ports import audio as audio_mod
    from .ports.clock import VirtualClock
    from .ports.gpio import GpioInputs, GpioOutputs
    from .ports.sensors import SysfsTemperature

    chip = board.get("gpio.chip")
    lines = board.section("gpio.lines")
    food = board.get("sensors.food")
    return {
        "audio": audio_mod.Mixer(audio_mod.open_source(audio_spec or "alsa", board.get("audio.rate"),
                                                       device=board.get("audio.device"))),
        "inputs": GpioInputs(chip, lines, board.get("gpio.active_low_inputs", False),
                             SysfsTemperature(board.get("sensors.cavity")),
                             SysfsTemperature(food) if food else None),
        "outputs": GpioOutputs(chip, lines, board.get("gpio.active_low_outputs", False)),
        "soc": SysfsTemperature(board.path_of("thermal.zone")),
        # capture blocks on the device clock: audio time is real time already
        "clock": VirtualClock(),
    }


def default_models_dir(storage):
    """Models in storage (what an image installs) win over the source tree's."""
    from .board import ROOT
    p = os.path.join(str(storage), "models")
    return p if os.path.isdir(p) else os.path.join(ROOT, "models")


def build(board, storage=None, audio=None, realtime=False, detector="auto",
          detector_factory=None, models_dir=None, boot="auto", log=None, watchdog=None,
          trial_deadline_s=None, env=None):
    """An App for `board` (a hearth.board.Board) with the right ports."""
    from .boot.storage import DirStorage
    from .ports.watchdog import SdNotify

    st = DirStorage(storage or board.storage_root)
    st.ensure_dir()
    ports = sim_ports(board, audio, realtime) if board.kind == "sim" else linux_ports(board, audio)
    app = App(board, ports["audio"], ports["inputs"], ports["outputs"], ports["soc"], ports["clock"], st,
              watchdog=watchdog if watchdog is not None else SdNotify(),
              detector=detector, detector_factory=detector_factory,
              models_dir=models_dir or default_models_dir(st), boot=boot, log=log,
              trial_deadline_s=trial_deadline_s, env=env)
    app.ports = ports
    return app
