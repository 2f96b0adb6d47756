"""The delta tools `hearth bench delta` compares: hearth and its peers, each
creating a patch and applying it in a child process of its own.

Peers, each in the configuration the issue names:
  xdelta3     `xdelta3 -9 -S djw` (Debian xdelta3)
  bsdiff      `bsdiff` / `bspatch` (Debian bsdiff)
  zstd        `zstd --ultra -22 --long=27 --patch-from` (Debian zstd)
  detools     bsdiff algorithm, sequential patch, lzma (PyPI detools; Python applier)
  hdiffpatch  HDiffPatch, lzma2 level 9, 8 MiB window (PyPI hdiffpatch; Python applier)
and hearth: hearth_tools.delta.create on the host, hearth.delta's applier.

An apply is timed and its peak RSS measured by GNU time (`/usr/bin/time
-f %M`). A Python applier's RSS is also given above an idle interpreter: the
same child with the same imports, stopped before it reads anything.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import _util

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_delta_child.py")
TIMEOUT_S = 900
TIME = "/usr/bin/time"         # GNU time (Debian time)


class ToolFailed(Exception):
    pass


def run_child(argv, timeout=TIMEOUT_S):
    """Run argv under /usr/bin/time; returns (wall seconds, peak RSS bytes,
    stdout). Raises ToolFailed with the last line of stderr on a non-zero exit
    or a time-out. The peak RSS is GNU time's %M of its own child: a child of
    this (large) Python process would report this process's RSS as its own
    peak, since Linux keeps the pre-exec high-water mark."""
    with tempfile.TemporaryDirectory(prefix="hearth-bench-") as d:
        rss_file = os.path.join(d, "rss")
        t0 = time.perf_counter()
        # a session of its own: a time-out ends the tool too, not only GNU time
        p = subprocess.Popen([TIME, "-f", "%M", "-o", rss_file, *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            stdout, stderr = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise ToolFailed("timed out after %d s" % timeout) from None
        wall = time.perf_counter() - t0
        stderr = stderr.decode(errors="replace").strip().splitlines()
        if p.returncode != 0:
            raise ToolFailed("exit %d: %s" % (p.returncode, stderr[-1] if stderr else "no message"))
        with open(rss_file) as f:
            rss_kib = int(f.read().split()[-1])
    return wall, rss_kib * 1024, stdout.decode(errors="replace")


def time_unavailable():
    return None if os.access(TIME, os.X_OK) else "%s not found (apt-get install time)" % TIME


class Tool:
    """A command-line peer: create and apply argv templates."""
    python = False

    def __init__(self, name, binaries, create, apply, package, describe=""):
        self.name, self.binaries, self._create, self._apply, self.package = name, binaries, create, apply, package
        spell = lambda argv: " ".join(argv).format(old="OLD", new="NEW", patch="PATCH", out="OUT")
        self.describe = describe or "%s; %s" % (spell(create), spell(apply))

    def unavailable(self):
        """None, or why the tool cannot run here (and how to get it)."""
        missing = [b for b in self.binaries if not shutil.which(b)]
        return "%s not found (apt-get install %s)" % (", ".join(missing), self.package) if missing else None

    def create(self, old, new, patch):
        return run_child([a.format(old=old, new=new, patch=patch) for a in self._create])[0]

    def apply(self, old, patch, out):
        """(seconds, peak RSS bytes) of one apply; wall time of the whole process."""
        wall, rss, _ = run_child([a.format(old=old, patch=patch, out=out) for a in self._apply])
        return wall, rss

    def idle_rss(self):
        return None

    def version(self):
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", self.package], capture_output=True, text=True)
        return "Debian %s %s" % (self.package, r.stdout) if r.returncode == 0 else "version unknown"


class PythonTool(Tool):
    """A peer whose applier is Python code, run by _delta_child.py."""
    python = True

    def __init__(self, name, modules, package, describe):
        self.name, self.modules, self.package, self.describe = name, modules, package, describe

    def unavailable(self):
        import importlib.util
        for m in self.modules:
            try:
                if importlib.util.find_spec(m) is None:
                    return "%s not importable (%s)" % (m, self.package)
            except ImportError:
                return "%s not importable (%s)" % (m, self.package)
        return None

    def create(self, old, new, patch):
        return float(run_child([sys.executable, CHILD, self.name, "create", old, new, patch])[2])

    def apply(self, old, patch, out):
        """(seconds of the apply call itself, peak RSS bytes of the process)."""
        _, rss, printed = run_child([sys.executable, CHILD, self.name, "apply", old, patch, out])
        return float(printed), rss

    def idle_rss(self):
        return run_child([sys.executable, CHILD, self.name, "idle"])[1]

    def version(self):
        from importlib import metadata
        try:
            return "PyPI %s %s" % (self.name, metadata.version(self.name))
        except metadata.PackageNotFoundError:
            return "version unknown"


class HearthTool(PythonTool):
    def version(self):
        # the last commit that changed the delta code, not HEAD: a merge or an unrelated commit changes nothing
        r = subprocess.run(["git", "log", "-1", "--format=%h", "--", "firmware/hearth/delta",
                            "host_tools/hearth_tools/delta"], cwd=_util.ROOT, capture_output=True, text=True)
        return "delta code at %s" % (r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else "unknown commit")

    def unavailable(self):
        try:
            from hearth_tools import delta as host
            from hearth import delta as device
        except ImportError as e:
            return "not available (%s: hearth_tools.delta and hearth.delta are the Hearth delta format)" % e
        if not hasattr(host, "create") or not hasattr(device, "apply_file"):
            return "not available (hearth_tools.delta.create / hearth.delta.apply_file missing)"
        return None


PEERS = [
    Tool("xdelta3", ["xdelta3"], ["xdelta3", "-e", "-9", "-S", "djw", "-f", "-s", "{old}", "{new}", "{patch}"],
         ["xdelta3", "-d", "-f", "-s", "{old}", "{patch}", "{out}"], "xdelta3"),
    Tool("bsdiff", ["bsdiff", "bspatch"], ["bsdiff", "{old}", "{new}", "{patch}"],
         ["bspatch", "{old}", "{out}", "{patch}"], "bsdiff"),
    Tool("zstd", ["zstd"], ["zstd", "-q", "-f", "--ultra", "-22", "--long=27", "--patch-from={old}", "{new}",
                            "-o", "{patch}"],
         ["zstd", "-q", "-f", "-d", "--long=27", "--patch-from={old}", "{patch}", "-o", "{out}"], "zstd"),
    PythonTool("detools", ["detools"], "pip install detools",
               "create_patch bsdiff algorithm, sequential patch, lzma; apply_patch_filenames (Python)"),
    PythonTool("hdiffpatch", ["hdiffpatch"], "pip install hdiffpatch",
               "diff with Lzma2Config(level=9, window=23); apply, whole files in memory (Python binding)"),
]
HEARTH = HearthTool("hearth", ["hearth_tools.delta", "hearth.delta"], "the delta format",
                    "hearth_tools.delta.create; hearth.delta.apply_file (streaming device applier)")
TOOLS = PEERS + [HEARTH]
