"""hearth._native for a board's architecture, built from native/ and cached.

The host build (native/ffi/build_ffi.py) makes the module for this machine.
A bundle for another architecture needs the same cffi module compiled for
that one: we take cffi's generated C from the same ffibuilder, compile it and
every native/src/**/*.c with the target's cross compiler, and link a stable
ABI (abi3) module, `_native.abi3.so`, which any CPython 3 on the board loads.

Python headers: the stable ABI headers are the same everywhere except
pyconfig.h, whose type sizes describe the build machine. For a cross build
we copy the headers and replace those sizes with the cross compiler's own
predefined macros (__SIZEOF_LONG__ ...), so an armv7 module sees 32-bit longs.

Results are cached under build/native/<arch>-<key>/ where key hashes the
compiler, flags, generated C, every native source and header, and pyconfig:
an unchanged tree costs one hash, a changed one a rebuild (2 jobs).
"""
import concurrent.futures
import contextlib
import glob
import hashlib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sysconfig
import tempfile

from hearth.board import host_arch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MODULE_FILE = "_native.abi3.so"

# arch -> (cross compiler, Debian package that provides it)
TOOLCHAINS = {
    "x86_64": ("x86_64-linux-gnu-gcc", "gcc-x86-64-linux-gnu"),
    "aarch64": ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
    "armv7": ("arm-linux-gnueabihf-gcc", "gcc-arm-linux-gnueabihf"),
}
# ELF e_machine of each arch (tests and `hearth image info` check it)
ELF_MACHINE = {"x86_64": 62, "aarch64": 183, "armv7": 40}

# pyconfig.h lines that describe the build machine's ABI; replaced for cross builds
_HOST_ONLY = re.compile(r"^#define (SIZEOF_\w+|ALIGNOF_\w+|HAVE_GCC_ASM_FOR_X64|HAVE_GCC_ASM_FOR_X87|"
                        r"HAVE_GCC_UINT128_T|X87_DOUBLE_ROUNDING)\b.*$", re.M)
_TARGET_SIZES = """
/* Hearth cross build: type sizes from the target compiler, not the build machine
   (glibc Linux: time_t and pthread_t are longs, off_t is 64-bit with
   _FILE_OFFSET_BITS=64, fpos_t is 16 bytes on every glibc ABI). */
#define SIZEOF_SHORT __SIZEOF_SHORT__
#define SIZEOF_INT __SIZEOF_INT__
#define SIZEOF_LONG __SIZEOF_LONG__
#define SIZEOF_LONG_LONG __SIZEOF_LONG_LONG__
#define SIZEOF_FLOAT __SIZEOF_FLOAT__
#define SIZEOF_DOUBLE __SIZEOF_DOUBLE__
#define SIZEOF_LONG_DOUBLE __SIZEOF_LONG_DOUBLE__
#define SIZEOF_VOID_P __SIZEOF_POINTER__
#define SIZEOF_SIZE_T __SIZEOF_SIZE_T__
#define SIZEOF_UINTPTR_T __SIZEOF_POINTER__
#define SIZEOF_WCHAR_T __SIZEOF_WCHAR_T__
#define SIZEOF__BOOL 1
#define SIZEOF_PID_T 4
#define SIZEOF_OFF_T 8
#define SIZEOF_FPOS_T 16
#define SIZEOF_TIME_T __SIZEOF_LONG__
#define SIZEOF_PTHREAD_T __SIZEOF_LONG__
#define SIZEOF_PTHREAD_KEY_T 4
#define ALIGNOF_LONG __SIZEOF_LONG__
#define ALIGNOF_SIZE_T __SIZEOF_SIZE_T__
#if defined(__SIZEOF_INT128__)
#define HAVE_GCC_UINT128_T 1
#endif
#if defined(__x86_64__)
#define HAVE_GCC_ASM_FOR_X64 1
#define HAVE_GCC_ASM_FOR_X87 1
#endif
"""


class NativeBuildError(Exception):
    pass


def compiler_for(arch):
    """The C compiler for arch, or NativeBuildError naming the missing tool."""
    if arch == host_arch():
        for cc in (os.environ.get("CC"), "gcc", "cc"):
            if cc and shutil.which(cc):
                return cc
        raise NativeBuildError("building the native extension needs a C compiler (apt-get install build-essential)")
    if arch not in TOOLCHAINS:
        raise NativeBuildError("no toolchain known for architecture %r" % arch)
    cc, pkg = TOOLCHAINS[arch]
    if not shutil.which(cc):
        raise NativeBuildError("building the native extension for %s needs %s (apt-get install %s)"
                               % (arch, cc, pkg))
    return cc


def _ffibuilder(root):
    path = os.path.join(root, "native", "ffi", "build_ffi.py")
    spec = importlib.util.spec_from_file_location("_hearth_build_ffi", path)
    mod = importlib.util.module_from_spec(spec)
    cwd = os.getcwd()
    try:
        os.chdir(root)        # build_ffi computes source paths relative to the root
        spec.loader.exec_module(mod)
    finally:
        os.chdir(cwd)
    return mod.ffibuilder


def _host_pyconfig(inc):
    text = open(os.path.join(inc, "pyconfig.h"), encoding="utf-8").read()
    if "SIZEOF_VOID_P" not in text:
        # Debian's multiarch dispatcher: read the build machine's real file
        m = re.search(r"<(x86_64-linux-gnu/python[\d.]+/pyconfig\.h)>", text)
        if not m:
            raise NativeBuildError("cannot find the Python pyconfig.h of this machine under %s" % inc)
        text = open(os.path.join("/usr/include", m.group(1)), encoding="utf-8").read()
    return text


def _target_pyconfig(inc):
    return _HOST_ONLY.sub("", _host_pyconfig(inc)) + _TARGET_SIZES


def _py_include(arch, cache):
    """(include dir, pyconfig text that goes with it)."""
    inc = sysconfig.get_paths()["include"]
    if arch == host_arch():
        return inc, _host_pyconfig(inc)
    text = _target_pyconfig(inc)
    tag = hashlib.sha256(text.encode()).hexdigest()[:12]
    dst = os.path.join(cache, "pyinc-%s-%s" % (arch, tag), os.path.basename(inc))
    if not os.path.exists(os.path.join(dst, "pyconfig.h")):
        tmp = tempfile.mkdtemp(prefix="pyinc-", dir=cache)
        shutil.copytree(inc, os.path.join(tmp, "inc"), symlinks=False)
        with open(os.path.join(tmp, "inc", "pyconfig.h"), "w", encoding="utf-8") as f:
            f.write(text)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        try:
            os.rename(os.path.join(tmp, "inc"), dst)
        except OSError:
            pass                       # a concurrent build got there first
        shutil.rmtree(tmp, ignore_errors=True)
    return dst, text


def build(arch, root=ROOT, cache=None, jobs=2):
    """Build (or reuse) hearth._native for arch. Returns (path, info dict)."""
    cache = cache or os.path.join(root, "build", "native")
    os.makedirs(cache, exist_ok=True)
    cc = compiler_for(arch)
    try:
        version = subprocess.run([cc, "-dumpfullversion"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        machine = subprocess.run([cc, "-dumpmachine"], capture_output=True, text=True,
                                 check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        raise NativeBuildError("%s does not run: %s" % (cc, e)) from None
    fb = _ffibuilder(root)
    _name, _src, _ext, kwds = fb._assigned_source
    gen = os.path.join(cache, "gen-%d.c" % os.getpid())
    with contextlib.redirect_stdout(io.StringIO()):      # cffi prints "generating ..."
        fb.emit_c_code(gen)
    with open(gen, "rb") as f:
        gen_c = f.read()
    os.unlink(gen)
    inc, pyconfig = _py_include(arch, cache)
    sources = [os.path.join(root, s) for s in kwds.get("sources", [])]
    include_dirs = [os.path.join(root, d) for d in kwds.get("include_dirs", [])]
    cflags = list(kwds.get("extra_compile_args", [])) + ["-fPIC", "-ffile-prefix-map=%s=." % root]
    libs = ["-l" + lib for lib in kwds.get("libraries", [])]
    h = hashlib.sha256()
    # the key never contains the checkout path: -ffile-prefix-map keeps it out of the output too
    for part in (arch, machine, version, " ".join(cflags[:-1]), " ".join(libs), pyconfig):
        h.update(part.encode() + b"\0")
    h.update(gen_c)
    native_files = sorted(set(sources) | set(glob.glob(os.path.join(root, "native", "**", "*.h"), recursive=True)))
    for p in native_files:
        h.update(os.path.relpath(p, root).encode() + b"\0")
        with open(p, "rb") as f:
            h.update(f.read())
    key = h.hexdigest()[:20]
    info = {"arch": arch, "compiler": "%s %s" % (cc, version), "target": machine, "key": key,
            "file": "hearth/" + MODULE_FILE}
    out_dir = os.path.join(cache, "%s-%s" % (arch, key))
    out = os.path.join(out_dir, MODULE_FILE)
    if os.path.exists(out):
        return out, info
    tmp = tempfile.mkdtemp(prefix="%s-" % arch, dir=cache)
    try:
        cfile = os.path.join(tmp, "_native.c")
        with open(cfile, "wb") as f:
            f.write(gen_c)
        incs = ["-I" + d for d in include_dirs] + ["-I" + inc]
        jobs_list = [(s, os.path.join(tmp, "%03d_%s.o" % (i, os.path.basename(s)[:-2])))
                     for i, s in enumerate([cfile] + sources)]

        def compile_one(job):
            src, obj = job
            r = subprocess.run([cc] + cflags + incs + ["-c", src, "-o", obj], capture_output=True, text=True)
            if r.returncode:
                raise NativeBuildError("%s failed on %s:\n%s" % (cc, os.path.relpath(src, root),
                                                                 r.stderr.strip()[-2000:]))

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
            list(ex.map(compile_one, jobs_list))
        so = os.path.join(tmp, MODULE_FILE)
        r = subprocess.run([cc, "-shared", "-s", "-o", so] + [o for _, o in jobs_list] + libs,
                           capture_output=True, text=True)
        if r.returncode:
            raise NativeBuildError("linking the native extension for %s failed:\n%s" % (arch, r.stderr.strip()[-2000:]))
        os.makedirs(out_dir, exist_ok=True)
        os.replace(so, out)           # atomic: concurrent builds never see half a module
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out, info


def elf_machine(data):
    """e_machine of an ELF file's bytes, or None."""
    if len(data) < 20 or data[:4] != b"\x7fELF":
        return None
    return int.from_bytes(data[18:20], "little" if data[5] == 1 else "big")
