"""`hearth loopcost [--opcodes] [--blocks N]`: one appliance loop turn,
counted rather than timed (hearth_tools.loopcost)."""
import argparse

from .. import loopcost
from ..errors import UsageError

NAME = "loopcost"
HELP = "count what one loop turn costs: cachegrind (valgrind) or Python bytecodes"


def add_arguments(parser):
    parser.add_argument("--opcodes", action="store_true", help="count Python bytecodes instead (no valgrind)")
    parser.add_argument("--blocks", type=int, default=loopcost.BLOCKS,
                        help="measured blocks (default %d)" % loopcost.BLOCKS)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)


def run(args, out):
    if args.blocks < 1:
        raise UsageError("--blocks %d: give a count >= 1" % args.blocks)
    if args.child:                   # the process cachegrind measures
        loopcost.child(args.child[0], int(args.child[1]))
        return 0
    if args.opcodes:
        total, per = loopcost.opcodes(args.blocks)
        det = sum(v for k, v in per.items() if k.split(":")[0] in loopcost.DETECTOR_FILES)
        top = sorted(per.items(), key=lambda kv: -kv[1])[:20]
        out.data({"bytecodes_per_block": total, "detector_glue": det, "rest": total - det,
                  "top": dict(top)},
                 "bytecodes per block: %.0f (detector glue %.0f, the rest of the loop %.0f)\n%s" % (
                     total, det, total - det, "\n".join("  %7.1f  %s" % (v, k) for k, v in top)))
        return 0
    r = loopcost.cachegrind(args.blocks)
    rows = [("loop, four models", r["loop"]), ("detector alone", r["lone"]),
            ("loop - detector alone", {e: r["loop"][e] - r["lone"][e] for e in loopcost.EVENTS}),
            ("loop without detector", r["nodet"])]
    lines = ["per block (cachegrind, LL = 512 KiB as the L2), %d blocks after %d of warm-up"
             % (args.blocks, loopcost.WARMUP),
             "%-24s %10s %10s %10s %10s" % ("", "instr", "I1 miss", "D1 miss", "L2 miss")]
    for label, v in rows:
        lines.append("%-24s %10.0f %10.0f %10.0f %10.0f" % (label, v["I refs"], v["I1 misses"],
                                                           v["D1 misses"], v["LL misses"]))
    out.data({"blocks": args.blocks, "warmup": loopcost.WARMUP, "per_block": dict(rows)}, "\n".join(lines))
    return 0
