"""Mean frontend feature values of typical and broken inputs, for the boards'
`[quality] feature_min/max` (the "features out of range" mode cause).

    hearth feature-levels [--seconds 60]    (python -m hearth_tools.feature_levels is the same)

Each input runs through the real detector with the sim board's models (the
frontend is the one the appliance runs); the value is read with Detector.quality()
every 0.5 s, as the quality monitor would, skipping the first 2 s while the
frontend's noise estimate settles. Printed: median, min and max of those
half-second means. The quality monitor averages them over ~20 s, so the
median is what a sustained condition converges to.
"""
import numpy as np

RATE = 16000
WARMUP_S = 2.0


def levels(pcm, step=RATE // 2):
    """Half-second mean feature values of pcm after the warm-up."""
    from hearth import board
    from hearth.detect import Detector
    det = Detector(board.load("sim").section("detector")["models"])
    x = np.clip(np.asarray(pcm, dtype=np.float64), -32768, 32767).astype(np.int16)
    out = []
    for pos in range(0, len(x) - step + 1, step):
        det.feed(x[pos:pos + step])
        _peaks, mean, _frames = det.quality()
        if pos >= WARMUP_S * RATE and mean is not None:
            out.append(mean)
    return out


def inputs(seconds, rng):
    """(label, pcm) of the conditions the board values are chosen from."""
    from .scenario import alarm_pattern, synthesize
    n = int(seconds * RATE)
    for rms in (1, 3, 10, 30, 100, 1000, 10000):
        yield "white noise rms %d" % rms, rng.normal(0.0, rms, n)
    speech = synthesize("okay nabu, what is the weather like today? hey jarvis, turn off the oven please",
                        voice="en-us", speed=150).astype(np.float64)
    reps = max(1, n // len(speech))
    talk = np.tile(speech, reps)
    for gain, label in ((1.0, "speech in a quiet room"), (8.0, "speech x8"), (0.125, "speech /8"),
                        (40.0, "speech x40 (clipping)")):
        yield label, talk * gain + rng.normal(0.0, 30.0, len(talk))
    t3 = np.tile(alarm_pattern("t3", "3k", 4).astype(np.float64), 3)
    yield "smoke alarm T3", t3 + rng.normal(0.0, 30.0, len(t3))
    t = np.arange(n) / RATE
    yield "50 Hz hum", 3000.0 * np.sin(2 * np.pi * 50 * t) + rng.normal(0.0, 30.0, n)
    noise = np.clip(rng.normal(0.0, 30.0, n), -32768, 32767).astype(np.int16)
    yield "byte-swapped samples", noise.byteswap().astype(np.float64)
    yield "digital silence", np.zeros(n)


if __name__ == "__main__":
    from .cli import run_as
    raise SystemExit(run_as("feature-levels"))
