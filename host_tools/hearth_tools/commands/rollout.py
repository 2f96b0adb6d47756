"""`hearth rollout set|halt|resume`: which devices are offered a release (published at once)."""
from ..errors import HearthError, UsageError

NAME = "rollout"
HELP = "stage a release to rings of devices, halt or resume it (signed into the repository)"


def add_arguments(parser):
    sub = parser.add_subparsers(dest="rollout_cmd", metavar="ACTION")
    p = sub.add_parser("set", help="offer a release to PERCENT of a ring's devices",
                       description="Offer VERSION for board B to N %% of the devices in ring NAME (default "
                                   "'all': every device). A device's place is fixed per release, so raising "
                                   "N only adds devices. Published at once.")
    p.add_argument("dir")
    p.add_argument("version")
    p.add_argument("--board", required=True)
    p.add_argument("--ring", default="all", help="ring name (default: all)")
    p.add_argument("--percent", type=int, required=True, help="0..100")
    for name, what in (("halt", "stop offering a release (devices that have it keep it)"),
                       ("resume", "offer a halted release again")):
        p = sub.add_parser(name, help=what)
        p.add_argument("dir")
        p.add_argument("version")
        p.add_argument("--board", required=True)


def run(args, out):
    from .. import repo
    cmd = getattr(args, "rollout_cmd", None)
    if cmd is None:
        raise UsageError("name an action: hearth rollout {set|halt|resume}")
    try:
        if cmd == "set":
            if not 0 <= args.percent <= 100:
                raise UsageError("--percent must be 0..100, not %d" % args.percent)
            r = repo.set_rollout(args.dir, args.version, args.board, args.percent, ring=args.ring)
        elif cmd == "halt":
            r = repo.halt(args.dir, args.version, args.board)
        else:
            r = repo.resume(args.dir, args.version, args.board)
    except repo.RepoError as e:
        raise (UsageError if e.usage else HearthError)(str(e)) from None
    rings = ", ".join("%s %d%%" % kv for kv in sorted(r["rollout"]["rings"].items())) or "no ring"
    out.data(r, "%s: %s%s (published: targets v%d, timestamp v%d)" % (
        r["release"], rings, ", HALTED" if r["rollout"]["halted"] else "", r["targets"], r["timestamp"]))
