"""`hearth feature-levels [--seconds S]`: mean frontend feature values of
typical and broken inputs, behind the boards' [quality] feature_min/max
(hearth_tools.feature_levels)."""
import numpy as np

from .. import feature_levels
from ..errors import UsageError

NAME = "feature-levels"
HELP = "measure the frontend feature levels behind [quality] feature_min/max in boards/"


def add_arguments(parser):
    parser.add_argument("--seconds", type=float, default=60.0, help="audio per input (default 60)")


def run(args, out):
    if not args.seconds > feature_levels.WARMUP_S:
        raise UsageError("--seconds %g: give more than the %g s warm-up" % (args.seconds, feature_levels.WARMUP_S))
    if not out.json:
        out.data(None, "%-28s %8s %8s %8s" % ("input", "median", "min", "max"))
    rng = np.random.default_rng(0)
    for label, pcm in feature_levels.inputs(args.seconds, rng):
        v = feature_levels.levels(pcm)
        if v:
            row = {"input": label, "median": float(np.median(v)), "min": float(min(v)), "max": float(max(v))}
            out.data(row, "%-28s %8.1f %8.1f %8.1f" % (label, row["median"], row["min"], row["max"]))
    return 0
