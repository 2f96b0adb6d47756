"""The reference wake-word pipeline the detector is checked against, and the
golden files the C detector test replays.

  pymicro-features frames (pymicro-wakeword's MicroWakeWordFeatures)
  -> pymicro-wakeword's quantization np.round(f / input_scale + zero_point),
     stride = input dim 1 (saturated to int8 where numpy's cast would wrap)
  -> TFLM (`tflite-micro`) running the model
  -> numpy float32 dequantization, sliding window, statistics.mean, > cutoff
  -> ESPHome micro_wake_word's refractory period (ignore_windows_).

Run as a script to rewrite detector_*.{s16,txt} next to it (needs models/):
    .venv/bin/python tests/golden/frontend/reference.py
"""
import os
import statistics
import struct
from collections import deque

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_MODELS = ["okay_nabu", "hey_jarvis", "hey_mycroft", "alexa"]


class ReferencePipeline:
    """pymicro-wakeword's feature handling + TFLM + ESPHome's refractory."""

    def __init__(self, manifest):
        from tflite_micro.python.tflite_micro import runtime

        self.m = manifest
        self.interp = runtime.Interpreter.from_bytes(manifest.model_bytes())
        ind, outd = self.interp.get_input_details(0), self.interp.get_output_details(0)
        self.stride = int(ind["shape"][1])
        self.in_scale = float(ind["quantization_parameters"]["scales"][0])
        self.in_zp = int(ind["quantization_parameters"]["zero_points"][0])
        self.in_dtype = ind["dtype"]
        self.out_scale = float(outd["quantization_parameters"]["scales"][0])
        self.out_zp = int(outd["quantization_parameters"]["zero_points"][0])
        self.features = []
        self.probs = deque(maxlen=manifest.sliding_window_size)
        self.cutoff = manifest.probability_cutoff
        self.refractory = manifest.refractory_steps
        self.ignore = -self.refractory
        self.latest = 0.0
        self.pending = False

    def step(self, feats, frame):
        """One feature vector. Returns (step or None, detected: bool)."""
        step = None
        self.features.append(feats.reshape(1, 1, -1))
        if len(self.features) >= self.stride:
            q = np.round(np.concatenate(self.features, axis=1) / self.in_scale + self.in_zp)
            self.features.clear()
            self.out_of_range = int(np.sum((q < -128) | (q > 127)))
            q = np.clip(q, -128, 127).astype(self.in_dtype)
            self.interp.set_input(q, 0)
            self.interp.invoke()
            raw = self.interp.get_output(0)
            prob = ((raw.astype(np.float32) - self.out_zp) * self.out_scale).item()
            self.probs.append(prob)
            mean = statistics.mean(self.probs) if len(self.probs) == self.probs.maxlen else None
            step = (int(raw.reshape(-1)[0]), frame, prob, mean)
            self.latest = prob
            self.pending = True
        # ESPHome: the refractory period counts steps whose latest
        # probability is below the cutoff; a new probability is judged once
        # it is over; a detection clears the window and restarts it
        if self.latest < self.cutoff and self.ignore < 0:
            self.ignore += 1
        detected = False
        if self.pending and self.ignore >= 0:
            self.pending = False
            if len(self.probs) == self.probs.maxlen and statistics.mean(self.probs) > self.cutoff:
                detected = True
                self.probs.clear()
                self.latest = 0.0
                self.ignore = -self.refractory
        return step, detected


def reference_run(pcm, names):
    """Per model: list of steps (raw, frame, prob, mean) and of detections
    (sample, frame, mean)."""
    from hearth.model_manifest import resolve
    from pymicro_wakeword import MicroWakeWordFeatures

    pipes = [ReferencePipeline(n if hasattr(n, "model_bytes") else resolve(n)) for n in names]
    steps = [[] for _ in names]
    events = [[] for _ in names]
    for frame, feats in enumerate(MicroWakeWordFeatures().process_streaming(pcm.tobytes())):
        for i, p in enumerate(pipes):
            mean_before = statistics.mean(p.probs) if len(p.probs) == p.probs.maxlen else None
            st, det = p.step(feats, frame)
            if st:
                steps[i].append(st)
            if det:
                mean = st[3] if st else mean_before
                events[i].append((480 + 160 * frame, frame, mean))
    return steps, events


def golden_input():
    """~10 s: two wake words (after the refractory first second), negative
    speech and noise."""
    from hearth_tools.testing import speech

    gap = speech.silence(1.2)
    return speech.concat(
        gap, speech.corpus_clip("okay nabu", voice="en-us", speed=150),
        speech.corpus_clip("turn on the light", voice="en-gb", speed=160, snr_db=15, seed=2),
        speech.corpus_clip("alexa", voice="en-gb", speed=170, snr_db=20, seed=3),
        speech.corpus_clip("hey mycroft", voice="en-gb-scotland", speed=140),
        speech.noise(1.0, -30, seed=4, color="pink"))


def write_golden(outdir=HERE):
    from hearth.model_manifest import resolve

    pcm = golden_input()
    steps, events = reference_run(pcm, GOLDEN_MODELS)
    pcm.astype("<i2").tofile(os.path.join(outdir, "detector_input.s16"))
    with open(os.path.join(outdir, "detector_steps.txt"), "w") as f:
        f.write("# model frame output (reference pipeline: TFLM), one line per invoke\n")
        for i, st in enumerate(steps):
            for raw, frame, _, _ in st:
                f.write("%d %d %d\n" % (i, frame, raw))
    with open(os.path.join(outdir, "detector_events.txt"), "w") as f:
        f.write("# model sample frame probability(float32 bits, hex); models: %s\n" %
                " ".join(GOLDEN_MODELS))
        for i, ev in enumerate(events):
            for sample, frame, mean in ev:
                bits = struct.unpack("<I", struct.pack("<f", mean))[0]
                f.write("%d %d %d %08x\n" % (i, sample, frame, bits))
    with open(os.path.join(outdir, "detector_models.txt"), "w") as f:
        for name in GOLDEN_MODELS:
            m = resolve(name)
            f.write("%s %.17g %d %d\n" % (name, m.probability_cutoff, m.sliding_window_size,
                                           m.refractory_steps))
    return sum(len(s) for s in steps), sum(len(e) for e in events)


if __name__ == "__main__":
    print("wrote %d steps, %d events" % write_golden())
