"""`hearth bench delta`: patch size, apply time and apply memory of Hearth's
delta format against xdelta3, bsdiff, zstd --patch-from, detools and HDiffPatch.

On update pairs built from registry packages and from this repository (see
_delta_pairs): retrained models, rebuilt native extensions, Python source
updates as uncompressed tars, and Hearth images of two commits for the sim
and ARM boards. Every tool creates its patch, then applies it REPEATS times in
a child process (the tools take turns within each repeat); every output is
compared with the new file, and a tool whose output differs is marked failed
for that pair. Hearth is one tool among the others, called through
hearth_tools.delta.create and hearth.delta's applier; where they are not in
the checkout it is reported as not available.

Reported per pair: each tool's patch bytes, the best peer's, hearth / best
peer; apply wall time (a Python applier: the apply call itself, start-up
excluded) as the median over the repeats; peak RSS of the applying process,
and for a Python applier that RSS above an idle interpreter holding the same
imports.
"""
import os
import statistics
import tempfile

from .. import benchdoc
from . import _delta_pairs as pairs_mod
from . import _delta_tools as tools_mod
from . import _util
from ..errors import HearthError, UsageError
from ..models import sha256_file

NAME = "delta"
HELP = "delta patch size, apply time and apply memory: hearth vs xdelta3, bsdiff, zstd, detools, HDiffPatch"
MIB = 1 << 20


def add_arguments(p):
    p.add_argument("--quick", action="store_true",
                   help="one small pair (%s), one apply each" % ", ".join(pairs_mod.QUICK))
    p.add_argument("--pair", action="append", choices=[x.name for x in pairs_mod.PAIRS + pairs_mod.LARGE],
                   help="run only this pair (repeatable; default: all %d)" % len(pairs_mod.PAIRS))
    p.add_argument("--large", action="store_true",
                   help="also %s (minutes, GBs of RAM for bsdiff and zstd)" % ", ".join(
                       x.name for x in pairs_mod.LARGE))
    p.add_argument("--repeats", type=int, default=3, help="applies per tool and pair (default 3)")
    p.add_argument("--cache", default=pairs_mod.CACHE, help="downloads and built pairs (default build/bench-cache)")


def measure_pair(pair, tools, repeats, cache, workdir):
    """{tool name: result} for one pair; a result has patch_size, create_s,
    apply_s, peak_rss, idle_rss (Python appliers), ok, and error when not ok."""
    old, new = pair.files(cache)
    want = sha256_file(new)
    results, runnable = {}, []
    for tool in tools:
        patch = os.path.join(workdir, "%s.%s.patch" % (pair.name, tool.name))
        try:
            create_s = tool.create(old, new, patch)
            results[tool.name] = {"ok": True, "patch_size": os.path.getsize(patch), "create_s": create_s,
                                  "apply_s": [], "peak_rss": 0}
            runnable.append((tool, patch))
        except tools_mod.ToolFailed as e:
            results[tool.name] = {"ok": False, "error": "create: %s" % e}
    for r in range(repeats):
        for j in range(len(runnable)):
            tool, patch = runnable[(j + r) % len(runnable)]   # a different order each repeat
            res = results[tool.name]
            if not res["ok"]:
                continue
            out = os.path.join(workdir, "%s.%s.out" % (pair.name, tool.name))
            try:
                secs, rss = tool.apply(old, patch, out)
                if sha256_file(out) != want:
                    raise tools_mod.ToolFailed("output differs from the new file")
                res["apply_s"].append(secs)
                res["peak_rss"] = max(res["peak_rss"], rss)
            except tools_mod.ToolFailed as e:
                res.update(ok=False, error="apply: %s" % e)
            finally:
                if os.path.exists(out):
                    os.unlink(out)
    for tool, _ in runnable:
        res = results[tool.name]
        if res["ok"]:
            res["apply_s"] = statistics.median(res["apply_s"])
            res["idle_rss"] = tool.idle_rss() if tool.python else None
    return results


def summarize(pair, old_size, new_size, results):
    """One row: the pair, every tool's result, the best peer and hearth's ratio to it."""
    peers = {n: r for n, r in results.items() if n != tools_mod.HEARTH.name and r.get("ok")}
    best = min(peers, key=lambda n: peers[n]["patch_size"]) if peers else None
    hearth = results.get(tools_mod.HEARTH.name) or {}
    ratio = (hearth["patch_size"] / peers[best]["patch_size"]
             if best and hearth.get("ok") else None)
    return {"pair": pair.name, "category": pair.category, "label": pair.label, "old_size": old_size,
            "new_size": new_size, "tools": results, "best_peer": best,
            "best_peer_size": peers[best]["patch_size"] if best else None, "hearth_to_best_peer": ratio}


def _cell(res, fmt):
    if res is None:
        return "n/a"
    return fmt(res) if res.get("ok") else "FAIL"


def _above_idle_mib(res):
    # RSS varies by some pages from run to run: an apply that costs nothing can measure below idle
    return max(0, res["peak_rss"] - res["idle_rss"]) / MIB


def _rss_cell(res):
    above = "" if res.get("idle_rss") is None else " +%.1f" % _above_idle_mib(res)
    return "%.1f%s" % (res["peak_rss"] / MIB, above)


def render(rows, tools, unavailable, repeats, load):
    names = [t.name for t in tools]
    w = 14
    head = lambda first: ("%-17s" % first) + "".join("%*s" % (w, n) for n in names)
    lines = ["Patch bytes (ratio = hearth / best peer; below 1.00 hearth is smaller)",
             head("pair") + "%9s%9s  %-11s%6s" % ("old", "new", "best peer", "ratio")]
    for r in rows:
        t = r["tools"]
        lines.append(("%-17s" % r["pair"]) + "".join(
            "%*s" % (w, _cell(t.get(n), lambda x: "%d" % x["patch_size"])) for n in names) +
            "%9d%9d  %-11s%6s" % (r["old_size"], r["new_size"], r["best_peer"] or "-",
                                  "%.3f" % r["hearth_to_best_peer"] if r["hearth_to_best_peer"] else "-"))
    tables = [
        ("Apply time, ms (median of %d; Python appliers: the apply call, interpreter start-up excluded)"
         % repeats, lambda x: "%.1f" % (x["apply_s"] * 1e3)),
        ("Apply peak RSS, MiB (Python appliers: +MiB above an idle interpreter with the same imports)", _rss_cell),
        ("Create time, s (once; Python tools: the create call)", lambda x: "%.2f" % x["create_s"]),
    ]
    for title, fmt in tables:
        lines += ["", title, head("pair")]
        for r in rows:
            lines.append(("%-17s" % r["pair"]) + "".join("%*s" % (w, _cell(r["tools"].get(n), fmt)) for n in names))
    lines.append("")
    for r in rows:
        lines.append("%-17s %s" % (r["pair"], r["label"]))
        for n, res in sorted(r["tools"].items()):
            if not res.get("ok"):
                lines.append("%-17s   %s failed: %s" % ("", n, res["error"]))
    lines.append("")
    for t in tools:
        if t.name not in dict(unavailable):
            lines.append("%-11s %s: %s" % (t.name, t.version(), t.describe))
    for n, why in unavailable:
        lines.append("%s: %s" % (n, why))
    lines += _figures(rows), "load average (1 min) at the end: %.2f" % load
    return "\n".join(lines)


def _figures(rows):
    """The issue's figures to reach, as measured here (only with hearth present)."""
    have = [r for r in rows if r["hearth_to_best_peer"] is not None]
    if not have:
        return "figures to reach: not measured (hearth not available)"
    worst = max(have, key=lambda r: r["hearth_to_best_peer"])
    images = [r for r in have if r["category"] == "image"]
    above = [_above_idle_mib(r["tools"]["hearth"]) for r in have]
    parts = ["patch <= best peer on %d of %d pairs (worst %s %.3f)" % (
        sum(r["hearth_to_best_peer"] <= 1 for r in have), len(have), worst["pair"], worst["hearth_to_best_peer"])]
    if images:
        parts.append("image pairs >= 15%% smaller: %d of %d" % (
            sum(r["hearth_to_best_peer"] <= 0.85 for r in images), len(images)))
    parts.append("apply RSS above idle < 4 MiB: %d of %d (max %.1f MiB)" % (
        sum(a < 4 for a in above), len(above), max(above)))
    # on a small pair the apply's fixed costs are most of its time: throughput counts from 1 MiB on
    speed = [r["new_size"] / r["tools"]["hearth"]["apply_s"] / 1e6 for r in have if r["new_size"] >= MIB]
    if speed:
        parts.append("apply >= 20 MB/s of output (pairs of 1 MiB and more): %d of %d (min %.1f MB/s)" % (
            sum(v >= 20 for v in speed), len(speed), min(speed)))
    return "figures to reach: " + "; ".join(parts)


def command_line(args):
    parts = ["hearth bench delta"]
    if args.quick:
        parts.append("--quick")
    parts += ["--pair %s" % p for p in args.pair or []]
    if args.large:
        parts.append("--large")
    if args.repeats != 3 and not args.quick:
        parts.append("--repeats %d" % args.repeats)
    return " ".join(parts + ["--write-doc"])


def run(args, out):
    if args.repeats < 1:
        raise UsageError("--repeats must be at least 1")
    names = args.pair or (pairs_mod.QUICK if args.quick else [p.name for p in pairs_mod.PAIRS])
    if args.large:
        names = names + [p.name for p in pairs_mod.LARGE]
    repeats = 1 if args.quick else args.repeats
    missing_time = tools_mod.time_unavailable()
    if missing_time:
        raise HearthError(missing_time)
    tools, unavailable = [], []
    for t in tools_mod.TOOLS:
        why = t.unavailable()
        (unavailable.append((t.name, why)) if why else tools.append(t))
    rows = []
    with tempfile.TemporaryDirectory(prefix="hearth-bench-delta-") as work:
        for pair in (p for p in pairs_mod.PAIRS + pairs_mod.LARGE if p.name in names):
            out.info("delta: %s" % pair.label)
            results = measure_pair(pair, tools, repeats, args.cache, work)
            old, new = pair.files(args.cache)
            rows.append(summarize(pair, os.path.getsize(old), os.path.getsize(new), results))
    text = render(rows, tools_mod.TOOLS, unavailable, repeats, _util.load_average())
    benchdoc.emit_rows(out, args, NAME, command_line(args), rows, text)
    return {"rows": rows}
