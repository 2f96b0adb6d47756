"""`hearth bench NAME`: run benchmarks (modules in hearth_tools.bench)."""
import importlib
import pkgutil

from .. import bench as bench_pkg
from ..errors import UsageError

NAME = "bench"
HELP = "measure speed, memory and size against peers in the same run"


def _modules():
    mods = {}
    for info in pkgutil.iter_modules(bench_pkg.__path__):
        if not info.name.startswith("_"):
            m = importlib.import_module("%s.%s" % (bench_pkg.__name__, info.name))
            mods[m.NAME] = m
    return mods


def add_arguments(parser):
    sub = parser.add_subparsers(dest="bench", metavar="NAME")
    for name, mod in sorted(_modules().items()):
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        p.add_argument("--write-doc", action="store_true",
                       help="replace this benchmark's section in docs/BENCHMARKS.md")
        mod.add_arguments(p)
        p.set_defaults(_bench=mod)
    p = sub.add_parser("all", help="run every benchmark")
    p.add_argument("--write-doc", action="store_true")
    p.set_defaults(_bench=None)


def run(args, out):
    if not getattr(args, "bench", None):
        raise UsageError("name a benchmark: hearth bench {%s|all}" % "|".join(sorted(_modules())))
    mods = [args._bench] if args._bench else [m for _, m in sorted(_modules().items())]
    for mod in mods:
        if args._bench is None:
            # defaults for each benchmark's own options
            import argparse
            p = argparse.ArgumentParser()
            mod.add_arguments(p)
            ns = p.parse_args([])
            ns.write_doc = args.write_doc
            ns.json = args.json
        else:
            ns = args
        mod.run(ns, out)
