"""Benchmarks, one module each, run by `hearth bench NAME` (or `all`).

Each module defines NAME, HELP, add_arguments(parser) and run(args, out) -> dict
(the results). Benchmarks measure peers in the same run and report ratios;
`--write-doc` replaces the module's section in docs/BENCHMARKS.md.
"""
