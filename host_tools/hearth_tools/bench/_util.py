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


def interleaved_medians(runs, repeats):
    """runs: [(fn, calls)]. Each repeat times every fn once, in turn; returns
    the median seconds per call of each, in order."""
    per = [[] for _ in runs]
    for _ in range(repeats):
        for k, (fn, calls) in enumerate(runs):
            t0 = time.perf_counter()
            fn(calls)
            per[k].append((time.perf_counter() - t0) / calls)
    return [statistics.median(p) for p in per]


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
