"""Every mode cause, named once: the constants producers report and the
table ModeManager derives the mode from.

A producer (SoC thermal, audio health, detector quality and budget, the
detector loader, ports, services, the trial health check) reports its
condition as one of these constants, never as a literal: a renamed or
misspelled cause is then an import error, not a KeyError at run time.
The strings themselves are what the console, the transition log and the
board's [modes] overrides show (spaces for underscores there).
"""

# The modes a cause can force, least severe first (hearth.core.modes uses them).
FULL = "FULL"
CONSTRAINED = "CONSTRAINED"
SAFE = "SAFE"

RUNTIME_MISSING = "runtime missing"
RUNTIME_FAILED = "runtime failed"
MODEL_MISSING = "model missing"
MODEL_HASH = "model hash"
DETECTOR_OVER_BUDGET = "detector over budget"
LOW_CONFIDENCE = "low confidence"
FEATURES_OUT_OF_RANGE = "features out of range"
TRIAL_BOOT = "trial boot"
SERVICE_FAILED = "service failed"
AUDIO_SILENT = "audio silent"
AUDIO_CLIPPING = "audio clipping"
AUDIO_STUCK = "audio stuck"
SOC_HOT = "soc hot"
PORT_FAULT = "port failed"

# (cause, mode it forces, enter_s, exit_s, what the user is told), in the
# order the console lists them. enter/exit are defaults; a board file may
# override them ([modes] section).
TABLE = (
    (RUNTIME_MISSING, CONSTRAINED, 0.0, 0.0, "native detector runtime not available"),
    (RUNTIME_FAILED, CONSTRAINED, 0.0, 0.0, "detector failed to start"),
    (MODEL_MISSING, CONSTRAINED, 0.0, 0.0, "a wake-word model file is missing"),
    (MODEL_HASH, CONSTRAINED, 0.0, 0.0, "a model file failed its hash check"),
    (DETECTOR_OVER_BUDGET, CONSTRAINED, 3.0, 30.0, "detector slower than its latency budget"),
    (LOW_CONFIDENCE, CONSTRAINED, 30.0, 30.0, "detector unsure for a sustained time"),
    (FEATURES_OUT_OF_RANGE, CONSTRAINED, 10.0, 10.0, "audio feature statistics out of range"),
    (TRIAL_BOOT, CONSTRAINED, 0.0, 0.0, "new image on trial, not yet confirmed"),
    # a background service (console, uploader, ...) raised and was stopped;
    # cooking goes on, the rest of the AI is held back until a restart
    (SERVICE_FAILED, CONSTRAINED, 0.0, 0.0, "a background service failed and was stopped"),
    (AUDIO_SILENT, SAFE, 5.0, 3.0, "microphone delivers digital silence"),
    (AUDIO_CLIPPING, SAFE, 5.0, 3.0, "microphone clipping"),
    (AUDIO_STUCK, SAFE, 5.0, 3.0, "microphone samples stuck"),
    (SOC_HOT, SAFE, 2.0, 10.0, "SoC above its temperature limit"),
    (PORT_FAULT, SAFE, 0.0, 0.0, "a hardware port raised an error"),
)

# cause: (mode, enter_s, exit_s, what the user is told)
CAUSES = {}
ORDER = []
for _row in TABLE:
    CAUSES[_row[0]] = _row[1:]
    ORDER.append(_row[0])
# The detector loader clears these before each (re)load.
DETECTOR_LOAD = (RUNTIME_MISSING, RUNTIME_FAILED, MODEL_MISSING, MODEL_HASH)
