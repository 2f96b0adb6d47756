"""Is the microphone telling the truth? Silence, clipping and stuck samples.

A real microphone always has a noise floor, so a block whose samples are all
within a few LSB of zero means a dead input (digital silence); a block whose
samples barely change is a stuck ADC or DMA; many full-scale samples mean
clipping. Each condition must persist (ModeManager hysteresis) before the
appliance stops trusting its ears.
"""
from .causes import AUDIO_CLIPPING, AUDIO_SILENT, AUDIO_STUCK

SILENCE_PEAK = 4          # |x| <= this everywhere: digital silence
CLIP_LEVEL = 32767        # |x| >= this counts as clipped (int16 full scale)
CLIP_FRACTION = 0.02      # more than 2 % clipped samples in a block
STUCK_FRACTION = 0.95     # more than 95 % of consecutive samples equal


def block_stats(block):
    """(peak, clipped, repeats, n) of an int16 sequence, in pure Python.

    repeats counts i where block[i] == block[i-1]. The CPython port has a
    numpy version with the same results (hearth.ports.dsp.block_stats)."""
    n = len(block)
    if n == 0:
        return (0, 0, 0, 0)
    peak = 0
    clipped = 0
    repeats = 0
    prev = block[0]
    first = True
    for x in block:
        a = -x if x < 0 else x
        if a > peak:
            peak = a
        if a >= CLIP_LEVEL:
            clipped += 1
        if not first and x == prev:
            repeats += 1
        first = False
        prev = x
    return (peak, clipped, repeats, n)


def classify(stats):
    """Which degradation a block shows: '', 'silent', 'clipping' or 'stuck'."""
    peak, clipped, repeats, n = stats
    if n == 0:
        return ""
    if peak <= SILENCE_PEAK:
        return "silent"
    if clipped > CLIP_FRACTION * n:
        return "clipping"
    if n > 1 and repeats > STUCK_FRACTION * (n - 1):
        return "stuck"
    return ""


CAUSE = {"silent": AUDIO_SILENT, "clipping": AUDIO_CLIPPING, "stuck": AUDIO_STUCK}


class AudioHealth:
    """The cause producer: reports a classify() verdict to the modes when it
    changes (the loop classifies one block per control turn)."""

    def __init__(self, modes):
        self.modes = modes
        self.kind = ""            # the verdict last reported: '' or a CAUSE key

    def report(self, kind, now):
        if kind == self.kind:
            return
        if self.kind:
            self.modes.report(CAUSE[self.kind], False, now)
        if kind:
            self.modes.report(CAUSE[kind], True, now)
        self.kind = kind
