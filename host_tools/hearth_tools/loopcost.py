"""What one turn of the appliance loop costs, counted rather than timed.

    python -m hearth_tools.loopcost              # cachegrind: needs valgrind
    python -m hearth_tools.loopcost --opcodes    # Python bytecodes per block

Wall-clock figures on a shared machine swing with its load; these counts do
not. The cachegrind mode runs the sim loop (four models, cooking) and the
lone detector on the same audio under cachegrind, with a 512 KiB last level
standing in for the L2, twice each (0 and BLOCKS blocks after a warm-up), and
prints per-block instructions and cache misses of each and their difference:
what the loop adds to the detector. The opcode mode traces one process and
prints the bytecodes executed per block by function.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

BLOCKS = 600
WARMUP = 200
EVENTS = ("I refs", "I1 misses", "D1 misses", "LL misses")


def _app(detector=True):
    from hearth import board as board_mod
    from hearth.app import build
    b = board_mod.load("sim", storage=tempfile.mkdtemp(prefix="hearth-loopcost-"))
    app = build(b, detector="auto" if detector else None, boot=None,
                models_dir=os.path.join(board_mod.ROOT, "models"))
    app.start()
    app.appliance.press("start", 0.0)
    return app


def _child(mode, n):
    """The measured process: WARMUP + n blocks of the loop or the lone detector."""
    app = _app(detector=mode != "nodet")
    if mode == "lone":
        from hearth.ports.detector import open_detector
        port, _ = open_detector(app.model_specs, app.models_dir, None, app.rate)
        for _ in range(WARMUP + n):
            port.feed(app.audio.read(app.n), 0.0)
    else:
        for _ in range(WARMUP + n):
            app.step()


def _cachegrind(mode, n):
    with tempfile.TemporaryDirectory() as d:
        cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--LL=524288,8,64",
               "--cachegrind-out-file=" + os.path.join(d, "out"), sys.executable, "-m",
               "hearth_tools.loopcost", "--child", mode, str(n)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit("loopcost: cachegrind run failed:\n" + proc.stderr[-2000:])
    got = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"==\d+==\s+(I\s+refs|I1\s+misses|D1\s+misses|LL misses):\s+([\d,]+)", line)
        if m:
            got[re.sub(r"\s+", " ", m.group(1))] = int(m.group(2).replace(",", ""))
    return got


def cachegrind(blocks=BLOCKS):
    """{mode: {event: per-block count}} for loop, lone and nodet."""
    try:
        subprocess.run(["valgrind", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit("loopcost: valgrind is not installed (apt install valgrind)")
    out = {}
    for mode in ("loop", "lone", "nodet"):
        a, b = _cachegrind(mode, 0), _cachegrind(mode, blocks)
        out[mode] = {e: (b[e] - a[e]) / float(blocks) for e in EVENTS}
    return out


def opcodes(blocks=1000):
    """(total per block, {function: per block}) of one traced loop."""
    app = _app()
    for _ in range(WARMUP):
        app.step()
    counts = {}

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            co = frame.f_code
            key = "%s:%s" % (os.path.basename(co.co_filename), co.co_name)
            counts[key] = counts.get(key, 0) + 1
        return tracer
    sys.settrace(tracer)
    try:
        for _ in range(blocks):
            app.step()
    finally:
        sys.settrace(None)
    per = {k: v / float(blocks) for k, v in counts.items()}
    return sum(per.values()), per


DETECTOR_FILES = ("detect.py", "detector.py", "frontend.py")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m hearth_tools.loopcost", description=__doc__.split("\n")[0])
    ap.add_argument("--opcodes", action="store_true", help="count Python bytecodes instead (no valgrind)")
    ap.add_argument("--blocks", type=int, default=BLOCKS)
    ap.add_argument("--child", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return 0
    if args.opcodes:
        total, per = opcodes(args.blocks)
        det = sum(v for k, v in per.items() if k.split(":")[0] in DETECTOR_FILES)
        print("bytecodes per block: %.0f (detector glue %.0f, the rest of the loop %.0f)" % (total, det, total - det))
        for k, v in sorted(per.items(), key=lambda kv: -kv[1])[:20]:
            print("  %7.1f  %s" % (v, k))
        return 0
    r = cachegrind(args.blocks)
    print("per block (cachegrind, LL = 512 KiB as the L2), %d blocks after %d of warm-up" % (args.blocks, WARMUP))
    print("%-24s %10s %10s %10s %10s" % ("", "instr", "I1 miss", "D1 miss", "L2 miss"))
    rows = [("loop, four models", r["loop"]), ("detector alone", r["lone"]),
            ("loop - detector alone", {e: r["loop"][e] - r["lone"][e] for e in EVENTS}),
            ("loop without detector", r["nodet"])]
    for label, v in rows:
        print("%-24s %10.0f %10.0f %10.0f %10.0f" % (label, v["I refs"], v["I1 misses"], v["D1 misses"],
                                                    v["LL misses"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
