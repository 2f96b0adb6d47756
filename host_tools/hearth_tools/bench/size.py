"""`hearth bench size`: Cortex-M4 code size of the native core, per module.

Each C file of native/src is compiled with arm-none-eabi-gcc -Os -mthumb
-mcpu=cortex-m4 and measured with arm-none-eabi-size. The inference runtime
(reader + interpreter + planner + kernels) is totalled separately from the
audio frontend and detector.
"""
import glob
import os
import shutil
import subprocess

from . import _util
from ..errors import HearthError

NAME = "size"
HELP = "Cortex-M4 text/data/bss of the native core per module (arm-none-eabi-gcc -Os)"
CFLAGS = ["-std=c99", "-Os", "-mthumb", "-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
          "-ffunction-sections", "-fdata-sections", "-DNDEBUG", "-fwrapv"]
RUNTIME_DIRS = ("", "kernels")     # native/src and native/src/kernels


def add_arguments(p):
    p.add_argument("--build-dir", default=os.path.join(_util.ROOT, "build", "cortex-m4-size"))


def measure(build_dir):
    cc, size = shutil.which("arm-none-eabi-gcc"), shutil.which("arm-none-eabi-size")
    if not cc or not size:
        raise HearthError("arm-none-eabi-gcc not found: run `make debs` (Debian gcc-arm-none-eabi)")
    src = os.path.join(_util.NATIVE, "src")
    os.makedirs(build_dir, exist_ok=True)
    rows = []
    for path in sorted(glob.glob(os.path.join(src, "**", "*.c"), recursive=True)):
        rel = os.path.relpath(path, src)
        obj = os.path.join(build_dir, rel.replace(os.sep, "_") + ".o")
        subprocess.run([cc, *CFLAGS, "-I", os.path.join(_util.NATIVE, "include"), "-I", src,
                        "-c", path, "-o", obj], check=True)
        out = subprocess.run([size, obj], check=True, capture_output=True, text=True).stdout
        text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
        group = "runtime" if os.path.dirname(rel) in RUNTIME_DIRS else os.path.dirname(rel)
        rows.append({"module": rel, "group": group, "text": text, "data": data, "bss": bss})
    return rows


def run(args, out):
    rows = measure(args.build_dir)
    lines = ["%-34s %8s %6s %6s" % ("module (Cortex-M4, -Os)", "text", "data", "bss")]
    totals = {}
    for r in rows:
        lines.append("%-34s %8d %6d %6d" % (r["module"], r["text"], r["data"], r["bss"]))
        t = totals.setdefault(r["group"], [0, 0, 0])
        t[0] += r["text"]
        t[1] += r["data"]
        t[2] += r["bss"]
    lines.append("")
    for g, (t, d, b) in sorted(totals.items()):
        lines.append("%-34s %8d %6d %6d" % ("TOTAL " + g, t, d, b))
    text = "\n".join(lines)
    from ..benchdoc import emit_rows
    emit_rows(out, args, NAME, "hearth bench size --write-doc  (also: make size)", rows, text)
    return {"rows": rows, "totals": totals}
