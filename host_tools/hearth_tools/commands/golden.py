"""`hearth golden a|b [--out DIR] [--random N]`: the golden single-op vectors
the C kernel tests replay (hearth_tools.golden, hearth_tools.golden_b)."""
import os

from ..errors import UsageError

NAME = "golden"
HELP = "write the golden single-op vectors (kernels A or B) the C tests replay"

DIRS = {"a": os.path.join("tests", "golden", "ops"), "b": os.path.join("tests", "golden", "ops_b")}


def add_arguments(parser):
    parser.add_argument("set", choices=sorted(DIRS), help="a: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, "
                        "ADD, MUL, pools; b: MEAN, LOGISTIC, SOFTMAX, (DE)QUANTIZE, STRIDED_SLICE, "
                        "CONCATENATION, SPLIT_V")
    parser.add_argument("--out", metavar="DIR", help="output directory (default: %s, %s)"
                        % (DIRS["a"], DIRS["b"]))
    parser.add_argument("--random", type=int, metavar="N", default=0,
                        help="set a: write N random configurations per op instead of the fixed cases")


def run(args, out):
    out_dir = args.out or DIRS[args.set]
    if args.random < 0:
        raise UsageError("--random %d: give a count >= 0" % args.random)
    if args.set == "b" and args.random:
        raise UsageError("--random is for set a only")
    try:
        names = _write(args.set, out_dir, args.random)
    except OSError as e:
        raise UsageError("cannot write golden vectors to %s: %s" % (out_dir, e.strerror or e)) from None
    out.data({"set": args.set, "out": out_dir, "cases": len(names)},
             "wrote %d golden cases to %s" % (len(names), out_dir))


def _write(which, out_dir, random_per_op):
    if which == "b":
        from ..golden_b import write_golden_b
        return write_golden_b(out_dir)
    from .. import golden
    return golden.write_random(out_dir, random_per_op) if random_per_op else golden.write_golden(out_dir)
