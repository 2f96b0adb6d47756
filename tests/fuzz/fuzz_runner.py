"""Build, seed and run the fuzz targets of fuzz_targets.py; check coverage floors.

    .venv/bin/python tests/fuzz/fuzz_runner.py [--seconds N] [--record] [TARGET...]

Each run starts from the target's real seeds plus every reproducer kept in
tests/fuzz/crashes/<target>/ (so a fixed crash stays fixed), with a fixed
libFuzzer seed, and reads libFuzzer's own status lines: `INITED cov:` is the
coverage the seeds reach (deterministic), the last `cov:`/`ft:` line what the
whole run reached. A target fails on any crash, sanitizer report, leak,
timeout or broken invariant (the reproducer path is printed), and when its
coverage falls below the floor recorded in tests/fuzz/floors.json.
`--record` runs the targets and rewrites that file.
"""
import argparse
import datetime
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

import fuzz_targets

ROOT = fuzz_targets.ROOT
FLOORS = os.path.join(ROOT, "tests", "fuzz", "floors.json")
KEPT_CRASHES = os.path.join(ROOT, "tests", "fuzz", "crashes")
BUILD = os.path.join(ROOT, "build", "fuzz")
ARTIFACTS = os.path.join(BUILD, "crashes")
PYTHON_HARNESS = os.path.join(ROOT, "tests", "fuzz", "fuzz_python.py")
LIBFUZZER_SEED = 1
UNIT_TIMEOUT_S = 30
RECORD_COMMAND = ".venv/bin/python tests/fuzz/fuzz_runner.py --record"
# Floors sit below the measured values: the seed coverage is deterministic
# (small margin for harmless code motion), the end-of-run coverage depends on
# how many executions the machine managed in the budget.
MARGINS = {"seed_cov": 0.95, "cov": 0.85}

_STATUS = re.compile(r"^#(\d+)\s+(INITED|NEW|REDUCE|pulse|DONE|RELOAD)\s+cov: (\d+) ft: (\d+)")
_ARTIFACT = re.compile(r"Test unit written to (\S+)")


def rel(path):
    return os.path.relpath(path, ROOT)


def build_native(build=BUILD):
    """cmake -DHEARTH_FUZZ=ON: instrumented library, libFuzzer targets."""
    if not shutil.which("clang"):
        raise RuntimeError("clang is required for the native fuzz targets: run `make debs`")
    env = dict(os.environ, CC="clang")
    for cmd in (["cmake", "-S", ROOT, "-B", build, "-DHEARTH_FUZZ=ON", "-DHEARTH_TESTS=OFF",
                 "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], ["cmake", "--build", build, "-j2"]):
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode:
            raise RuntimeError("fuzz build failed: %s\n%s" % (" ".join(cmd), proc.stdout[-4000:]))
    return build


def require_runner(target):
    """A clear error instead of a fuzzer that cannot start."""
    if target.kind == "python" and importlib.util.find_spec("atheris") is None:
        raise RuntimeError("atheris is required for the Python fuzz targets: "
                           "`.venv/bin/python -m pip install -e '.[dev]'` (or `make venv`)")


def target_argv(target, build=BUILD):
    if target.kind == "native":
        return [os.path.join(build, target.name)]
    return [sys.executable, PYTHON_HARNESS, target.name]


class Result:
    def __init__(self, target, seconds, argv, returncode, output):
        self.target = target
        self.seconds = seconds
        self.argv = argv
        self.returncode = returncode
        self.output = output
        self.seed_cov = self.cov = self.ft = self.execs = None
        for line in output.splitlines():
            m = _STATUS.match(line)
            if m:
                self.execs, self.cov, self.ft = int(m.group(1)), int(m.group(3)), int(m.group(4))
                if m.group(2) == "INITED":
                    self.seed_cov = self.cov
        self.reproducers = _ARTIFACT.findall(output)

    def summary(self):
        return "%s: seed cov %s, cov %s, ft %s after %s execs in %d s" % (
            self.target.name, self.seed_cov, self.cov, self.ft, self.execs, self.seconds)

    def tail(self, lines=40):
        """The end of the output without the progress lines (the report is there)."""
        kept = [ln for ln in self.output.splitlines() if not _STATUS.match(ln)]
        return "\n".join(kept[-lines:])


def run(target, work, seconds=None, build=BUILD):
    """Seed and run one target for `seconds` (default: its share of the budget)."""
    seconds = target.seconds if seconds is None else seconds
    require_runner(target)
    corpus = os.path.join(work, target.name)
    os.makedirs(corpus)
    target.seeds(corpus, work)
    kept = os.path.join(KEPT_CRASHES, target.name)
    if os.path.isdir(kept):
        for name in sorted(os.listdir(kept)):
            shutil.copy(os.path.join(kept, name), os.path.join(corpus, "kept-" + name))
    os.makedirs(ARTIFACTS, exist_ok=True)
    env = dict(os.environ, **target.env)
    argv = target_argv(target, build) + [
        "-seed=%d" % LIBFUZZER_SEED, "-max_total_time=%d" % seconds, "-max_len=%d" % target.max_len,
        "-timeout=%d" % UNIT_TIMEOUT_S, "-rss_limit_mb=2048", "-print_final_stats=1",
        "-artifact_prefix=%s/%s-" % (ARTIFACTS, target.name), corpus]
    proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", timeout=seconds + 600)
    return Result(target, seconds, argv, proc.returncode, proc.stdout)


def load_floors(path=FLOORS):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def problems(result, floors):
    """What is wrong with a run, as messages a person can act on ([] = fine)."""
    return failure(result) or below_floor(result, floors)


def failure(result):
    """A crash, sanitizer report, leak, timeout, broken invariant, or no stats."""
    t = result.target
    if result.reproducers or result.returncode != 0:
        repro = result.reproducers[-1] if result.reproducers else None
        lines = ["fuzz target %s failed (exit %d, libFuzzer -seed=%d)" % (t.name, result.returncode,
                                                                          LIBFUZZER_SEED)]
        if repro:
            words = ["%s=%s" % kv for kv in sorted(t.env.items())] + target_argv(t) + [repro]
            lines += ["reproducer: %s" % rel(repro),
                      "reproduce:  %s" % " ".join(w.replace(ROOT + os.sep, "") for w in words),
                      "keep it:    copy it into tests/fuzz/crashes/%s/ once fixed" % t.name]
        return ["\n".join(lines) + "\n" + result.tail()]
    if result.cov is None or result.seed_cov is None:
        return ["fuzz target %s printed no coverage status line (no `INITED cov:`):\n%s"
                % (t.name, result.tail())]
    return []


def below_floor(result, floors):
    t = result.target
    rec = floors["targets"].get(t.name)
    if rec is None:
        return ["fuzz target %s has no floor in %s: record one with `%s %s`"
                % (t.name, rel(FLOORS), RECORD_COMMAND, t.name)]
    out = []
    checks = [("seed_cov", result.seed_cov, "the seeds reach")]
    if result.seconds >= rec["seconds"]:           # a shorter run cannot be held to the full floor
        checks.append(("cov", result.cov, "the %d s run reached" % result.seconds))
    for key, got, what in checks:
        floor = rec["floor"][key]
        if got < floor:
            out.append("fuzz target %s: coverage %s fell to %d edges, below the floor %d in %s "
                       "(measured %d with `%s`). Either a change hides code from the fuzzer "
                       "(seeds refused, a target no longer reaching a parser, the library built without "
                       "-fsanitize=fuzzer-no-link) or the drop is intended: then re-record with `%s %s`."
                       % (t.name, what, got, floor, rel(FLOORS), rec["measured"][key],
                          floors["command"], RECORD_COMMAND, t.name))
    return out


def _floors_of(result):
    seed = int(result.seed_cov * MARGINS["seed_cov"])
    return {"seed_cov": seed, "cov": max(seed, int(result.cov * MARGINS["cov"]))}


def record(results, path=FLOORS):
    floors = load_floors(path) if os.path.exists(path) else {"targets": {}}
    floors["command"] = RECORD_COMMAND
    floors["margins"] = MARGINS
    floors["note"] = ("floors = measured x margin; seed_cov is the INITED coverage of the seed "
                      "corpus, cov the last cov: line of a run of `seconds`")
    for r in results:
        floors["targets"][r.target.name] = {
            "seconds": r.seconds,
            "recorded": "%s, %s, %d CPUs, Python %s" % (datetime.date.today().isoformat(),
                                                        platform.machine(), os.cpu_count(),
                                                        platform.python_version()),
            "measured": {"seed_cov": r.seed_cov, "cov": r.cov, "ft": r.ft, "execs": r.execs},
            "floor": _floors_of(r),
        }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(floors, f, indent=2, sort_keys=True)
        f.write("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("targets", nargs="*", help="default: all of %s"
                    % ", ".join(t.name for t in fuzz_targets.TARGETS))
    ap.add_argument("--seconds", type=int, help="per target (default: each target's budget)")
    ap.add_argument("--record", action="store_true", help="rewrite the floors from this run")
    args = ap.parse_args(argv)
    unknown = [n for n in args.targets if n not in fuzz_targets.BY_NAME]
    if unknown:
        ap.error("unknown target(s) %s" % ", ".join(unknown))
    targets = [fuzz_targets.BY_NAME[n] for n in args.targets] or fuzz_targets.TARGETS
    if any(t.kind == "native" for t in targets):
        build_native()
    results, failed = [], False
    with tempfile.TemporaryDirectory(prefix="hearth-fuzz-") as work:
        for t in targets:
            r = run(t, work, args.seconds)
            print(r.summary(), flush=True)
            results.append(r)
            issues = failure(r) if args.record else problems(r, load_floors())
            for issue in issues:
                print(issue, file=sys.stderr)
            failed |= bool(issues)
    if args.record and not failed:
        record(results)
        print("floors written to %s" % rel(FLOORS))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
