"""Shared helpers for benchmarks: timing, building native helpers, capturing C stdout."""
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
NATIVE = os.path.join(ROOT, "native")


def interleaved_times(runs, repeats, clock=time.perf_counter):
    """runs: [(fn, calls)]. Each repeat times every fn once, in turn, so a
    change in machine load hits every peer alike; the order rotates by one
    each repeat, so no peer always runs right after the same other. Returns
    per fn the list of seconds per call (clock: time.perf_counter for wall
    time, time.process_time for this process's CPU time)."""
    per = [[] for _ in runs]
    for r in range(repeats):
        for j in range(len(runs)):
            k = (j + r) % len(runs)
            fn, calls = runs[k]
            t0 = clock()
            fn(calls)
            per[k].append((clock() - t0) / calls)
    return per


def interleaved_medians(runs, repeats):
    """interleaved_times, reduced to the median seconds per call of each fn."""
    return [statistics.median(p) for p in interleaved_times(runs, repeats)]


def percentiles(values):
    """{p10, p50, p90} of a list by nearest rank (empty dict for none)."""
    if not values:
        return {}
    v = sorted(values)
    pick = lambda q: v[min(len(v) - 1, int(round(q * (len(v) - 1))))]
    return {"p10": pick(0.1), "p50": pick(0.5), "p90": pick(0.9)}


def load_average():
    """The 1-minute load average (how busy the shared machine was)."""
    return os.getloadavg()[0]


def build_native_tool(name, source, flags=("-O3", "-DNDEBUG", "-fwrapv")):
    """Compile a C tool from `source` plus the whole native library (cached)."""
    sources = sorted(glob.glob(os.path.join(NATIVE, "src", "**", "*.c"), recursive=True))
    out_dir = os.path.join(ROOT, "build", "bench")
    os.makedirs(out_dir, exist_ok=True)
    exe = os.path.join(out_dir, name)
    newest = max(os.path.getmtime(p) for p in sources + [source] +
                 glob.glob(os.path.join(NATIVE, "**", "*.h"), recursive=True))
    if not os.path.exists(exe) or os.path.getmtime(exe) < newest:
        cmd = ["cc", "-std=c99", *flags, "-I", os.path.join(NATIVE, "include"),
               "-I", os.path.join(NATIVE, "src"), source, *sources, "-lm", "-o", exe + ".tmp"]
        subprocess.run(cmd, check=True)
        os.replace(exe + ".tmp", exe)
    return exe


def capture_fd1(fn):
    """Run fn() and return what C code wrote to file descriptor 1."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            fn()
        finally:
            # C stdio buffers when fd 1 is not a terminal: flush it into the file
            import ctypes
            ctypes.CDLL(None).fflush(None)
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode(errors="replace")
