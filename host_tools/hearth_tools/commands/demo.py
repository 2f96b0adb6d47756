"""`hearth demo`: the scripted smart-oven scenario on the sim board, end to end."""

from .. import scenario
from ..errors import HearthError

NAME = "demo"
HELP = "run the scripted smart-oven scenario on the sim board and print the console transcript"
USES_STORAGE = True     # --storage DIR (default: a temporary one)


def add_arguments(parser):
    parser.add_argument("--print-script", action="store_true", help="print the scenario script and exit")


def run(args, out):
    if args.print_script:
        out.data({"script": scenario.DEMO}, scenario.DEMO.rstrip())
        return 0
    write, lines = scenario.transcript_to(out)
    ok, sc = scenario.run(scenario.DEMO, write, storage=args.storage)
    if out.json:
        out.data({"ok": ok, "transcript": lines, "failures": sc.failures, "notes": sc.notes})
    if not ok:
        raise HearthError("demo: %d expectation(s) failed (see transcript)" % len(sc.failures))
    return 0
