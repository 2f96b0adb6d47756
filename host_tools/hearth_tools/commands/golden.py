"""`hearth golden conv|quant_shape [--out DIR] [--random N]`: the golden
single-op vectors the C kernel tests replay (hearth_tools.testing.golden_conv,
hearth_tools.testing.golden_quant_shape)."""
import os

from ..errors import UsageError

NAME = "golden"
HELP = "write the golden single-op vectors (conv or quant_shape family) the C tests replay"

DIRS = {"conv": os.path.join("tests", "golden", "ops_conv"),
        "quant_shape": os.path.join("tests", "golden", "ops_quant_shape")}


def add_arguments(parser):
    parser.add_argument("set", choices=sorted(DIRS), help="conv: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, "
                        "ADD, MUL, pools; quant_shape: MEAN, LOGISTIC, SOFTMAX, (DE)QUANTIZE, STRIDED_SLICE, "
                        "CONCATENATION, SPLIT_V")
    parser.add_argument("--out", metavar="DIR", help="output directory (default: %s, %s)"
                        % (DIRS["conv"], DIRS["quant_shape"]))
    parser.add_argument("--random", type=int, metavar="N", default=0,
                        help="conv only: write N random configurations per op instead of the fixed cases")


def run(args, out):
    out_dir = args.out or DIRS[args.set]
    if args.random < 0:
        raise UsageError("--random %d: give a count >= 0" % args.random)
    if args.set == "quant_shape" and args.random:
        raise UsageError("--random is for the conv set only")
    try:
        names = _write(args.set, out_dir, args.random)
    except OSError as e:
        raise UsageError("cannot write golden vectors to %s: %s" % (out_dir, e.strerror or e)) from None
    out.data({"set": args.set, "out": out_dir, "cases": len(names)},
             "wrote %d golden cases to %s" % (len(names), out_dir))


def _write(which, out_dir, random_per_op):
    if which == "quant_shape":
        from ..testing.golden_quant_shape import write_golden_b
        return write_golden_b(out_dir)
    from ..testing import golden_conv
    return golden_conv.write_random(out_dir, random_per_op) if random_per_op else golden_conv.write_golden(out_dir)
