"""cffi (API mode) build of hearth._native from the C99 sources in native/.

Each native module contributes a `*.cdef` file next to this script (the
declarations Python may call) and a public header under native/include/hearth.
Run directly to build the extension in place (firmware/hearth/).
"""
import glob
import os
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.dirname(HERE)
ROOT = os.path.dirname(NATIVE)


def _rel(path):
    # setuptools wants source paths relative to the project root; a direct
    # build (below) compiles inside a temp dir and needs absolute paths
    if __name__ == "__main__":
        return os.path.abspath(path)
    return os.path.relpath(path, ROOT)


cdefs = sorted(glob.glob(os.path.join(HERE, "*.cdef")))
headers = sorted(glob.glob(os.path.join(NATIVE, "include", "hearth", "*.h")))
sources = sorted(glob.glob(os.path.join(NATIVE, "src", "**", "*.c"), recursive=True))

ffibuilder = FFI()
ffibuilder.cdef("\n".join(open(p, encoding="utf-8").read() for p in cdefs))
ffibuilder.set_source(
    "hearth._native",
    "\n".join('#include "hearth/%s"' % os.path.basename(h) for h in headers),
    sources=[_rel(s) for s in sources],
    include_dirs=[os.path.join(NATIVE, "include"), os.path.join(NATIVE, "src")],
    extra_compile_args=["-std=c99", "-O3", "-DNDEBUG", "-fvisibility=hidden", "-fwrapv",
                        "-Wall", "-Wno-unused-function"],
    libraries=["m"],
)

if __name__ == "__main__":
    os.chdir(ROOT)
    out = os.path.join(ROOT, "firmware")
    import shutil
    import tempfile
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    # a private temp dir and an atomic rename: concurrent builds never see a
    # half-written module
    tmp = tempfile.mkdtemp(prefix="ffi-", dir=os.path.join(ROOT, "build"))
    try:
        ffibuilder.compile(tmpdir=tmp, verbose="-v" in sys.argv)
        built = glob.glob(os.path.join(tmp, "hearth", "_native*.so"))
        for so in built:
            os.replace(so, os.path.join(out, "hearth", os.path.basename(so)))
        # drop modules with another suffix (e.g. an abi3 build from `pip install -e`)
        # so the interpreter never imports a stale one
        names = {os.path.basename(so) for so in built}
        for old in glob.glob(os.path.join(out, "hearth", "_native*.so")):
            if os.path.basename(old) not in names:
                os.remove(old)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
