"""Storage layer of the launcher: every mutation is one counted operation.

All boot state lives in a storage directory (board TOML [storage] root), and
everything the launcher writes goes through a Storage object:

    open_write   create or truncate a file          counted ("create"/"truncate")
    write        append bytes to an open file       counted ("write")
    fsync        make a file's data durable         counted ("fsync")
    rename       atomically replace a name          counted ("rename")
    remove       unlink a file                      counted ("remove")
    fsync_dir    make a directory's names durable   counted ("fsync_dir")

Reads are counted too, per kind, but not in op_count (they change nothing a
cut could lose):

    read         read / read_chunks a file                  kind "read"
    list_files / listdir / list_tree                        kind "list"

Counting is what makes power-cut testing possible (MCUboot's simulator counts
flash operations the same way): set `cut_at = i` and operation i raises
PowerCut instead of happening, and so does every later one, as on a dead
machine. It makes I/O-error testing possible the same way: `fail(kind, at,
errno)` makes operation number `at` (0-based) of that kind raise OSError
(EIO, ENOSPC, EACCES, ...) instead of happening; `fail(kind, None, errno,
name=...)` fails every such operation on that name (a bad file, a full
directory). DirStorage is the real thing (os calls on a directory);
SimStorage (tests/simdisk.py, a test fixture) models what survives a cut.

The application uses the same interface for its own files (hearth.app
builds a DirStorage on the board's storage root): one way to write a file
atomically on the device.

Names are '/'-separated paths relative to the storage root.
"""
import contextlib
import errno
import os
import posixpath
import stat


class PowerCut(Exception):
    """The simulated power failed at this operation."""


class Storage:
    """Base class: operation counting and the cut point."""

    def __init__(self):
        self.op_count = 0
        self.cut_at = None
        self.trace = None            # a list to record (kind, name, nbytes), or None
        self.kind_counts = {}        # kind -> operations of that kind so far (reads included)
        self.faults = []             # [(kind, at or None, errno, name or None)], see fail()

    def fail(self, kind, at, err, name=None):
        """Make operation number `at` of `kind` raise OSError(err) instead of
        happening; at=None: every operation of `kind` (on `name` or anything
        under it, if given)."""
        self.faults.append((kind, at, err, name))

    def _fault(self, kind, name):
        n = self.kind_counts.get(kind, 0)
        self.kind_counts[kind] = n + 1
        for k, at, err, only in self.faults:
            if k == kind and (at is None or at == n) and (only is None or _under(name, only)):
                raise OSError(err, os.strerror(err), name)

    def _op(self, kind, name, nbytes=0):
        if self.cut_at is not None and self.op_count >= self.cut_at:
            raise PowerCut("power cut at operation %d (%s %s)" % (self.op_count, kind, name))
        self._fault(kind, name)
        self.op_count += 1
        if self.trace is not None:
            self.trace.append((kind, name, nbytes))

    def _read_op(self, kind, name):
        self._fault(kind, name)

    # -- helpers built on the primitives ---------------------------------
    def write_atomic(self, name, data):
        """Replace `name` with `data` so a cut leaves either the old or the new file.

        write-new, fsync, rename, fsync the directory: the rename is the commit.
        """
        tmp = name + ".tmp"
        h = self.open_write(tmp)
        try:
            self.write(h, data)
            self.fsync(h)
        finally:
            self.close(h)
        self.rename(tmp, name)
        self.fsync_dir(posixpath.dirname(name))

    def remove_tree(self, dirname):
        """Remove every file under dirname (one counted remove each)."""
        for name in sorted(self.list_files(dirname)):
            self.remove(name)

    @contextlib.contextmanager
    def lock(self):
        yield


def _under(name, top):
    return name == top or (name or "").startswith(top + "/")


def _check_name(name):
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in name.split("/")):
        raise ValueError("bad storage name %r" % name)
    return name


class DirStorage(Storage):
    """Storage on a real directory (the device, the sim board, tests)."""

    def __init__(self, root):
        super().__init__()
        self.root = os.path.abspath(root)

    def __str__(self):
        return self.root

    def __fspath__(self):
        return self.root

    def local_path(self, name):
        return os.path.join(self.root, *_check_name(name).split("/"))

    def ensure_dir(self, dirname=""):
        """Create dirname (default: the root) and its parents, durably."""
        self._ensure_dir(dirname)
        return self.local_path(dirname) if dirname else self.root

    # reads (counted per kind, not in op_count)
    def read(self, name):
        self._read_op("read", name)
        with open(self.local_path(name), "rb") as f:
            return f.read()

    def read_chunks(self, name, chunk=1 << 16):
        self._read_op("read", name)
        with open(self.local_path(name), "rb") as f:
            while True:
                b = f.read(chunk)
                if not b:
                    return
                yield b

    def exists(self, name):
        # anything under the name counts: a directory where a record should be
        # is then read, fails with EISDIR and is handled as an unreadable file
        return os.path.lexists(self.local_path(name))

    def size(self, name):
        return os.path.getsize(self.local_path(name))

    def list_files(self, dirname):
        self._read_op("list", dirname)
        base = self.local_path(dirname)
        out = []
        for dirpath, _dirs, names in os.walk(base):
            rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            out.extend(posixpath.join(rel, n) for n in names)
        return out

    def list_tree(self, dirname):
        """Everything under dirname: {relative path: "file" | "dir" | "other"}.

        "other" is anything that is not a plain file or directory (a symlink,
        a fifo): nothing the launcher writes, so never part of a listing it
        expects. Raises OSError when the tree cannot be read completely.
        """
        self._read_op("list", dirname)
        base = self.local_path(dirname)
        try:
            if not stat.S_ISDIR(os.lstat(base).st_mode):
                return {"": "other"}         # a file or a symlink where the directory should be
        except FileNotFoundError:
            return {}
        out = {}

        def walk_error(e):
            raise e

        for dirpath, dirs, names in os.walk(base, onerror=walk_error):
            rel = os.path.relpath(dirpath, base).replace(os.sep, "/")
            for n in dirs + names:
                path = os.path.join(dirpath, n)
                key = n if rel == "." else posixpath.join(rel, n)
                mode = os.lstat(path).st_mode
                out[key] = "file" if stat.S_ISREG(mode) else "dir" if stat.S_ISDIR(mode) else "other"
            dirs[:] = [d for d in dirs if out[d if rel == "." else posixpath.join(rel, d)] == "dir"]
        return out

    def listdir(self, dirname):
        self._read_op("list", dirname)
        try:
            return sorted(os.listdir(self.local_path(dirname)))
        except FileNotFoundError:
            return []

    # mutations (counted)
    def _ensure_dir(self, dirname):
        # Directories are created on demand and made durable at once (their
        # parent fsynced); they are not counted: they never carry state.
        path = self.local_path(dirname) if dirname else self.root
        missing = []
        while not os.path.isdir(path):
            missing.append(path)
            path = os.path.dirname(path)
        for d in reversed(missing):
            try:
                os.mkdir(d)
            except FileExistsError:
                pass
            _fsync_dir(os.path.dirname(d))

    def open_write(self, name):
        self._ensure_dir(posixpath.dirname(name))
        path = self.local_path(name)
        self._op("truncate" if os.path.exists(path) else "create", name)
        return [os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), name]

    def write(self, h, data):
        self._op("write", h[1], len(data))
        view = memoryview(data)
        while view:
            n = os.write(h[0], view)
            view = view[n:]

    def fsync(self, h):
        self._op("fsync", h[1])
        os.fsync(h[0])

    def close(self, h):
        if h[0] is not None:
            os.close(h[0])
            h[0] = None

    def rename(self, src, dst):
        if posixpath.dirname(src) != posixpath.dirname(dst):
            raise ValueError("rename across directories is not atomic: %s -> %s" % (src, dst))
        self._op("rename", dst)
        os.replace(self.local_path(src), self.local_path(dst))

    def remove(self, name):
        self._op("remove", name)
        try:
            os.unlink(self.local_path(name))
        except FileNotFoundError:
            pass

    def fsync_dir(self, dirname):
        self._op("fsync_dir", dirname)
        _fsync_dir(self.local_path(dirname) if dirname else self.root)

    def remove_tree(self, dirname):
        if self.list_tree(dirname).get("") == "other":
            self.remove(dirname)             # unlink it: never follow a link out of the storage
            return
        super().remove_tree(dirname)
        for rel, kind in sorted(self.list_tree(dirname).items()):
            if kind == "other":              # a symlink (to a directory) or a fifo: unlink, never follow
                self.remove("%s/%s" % (dirname, rel))
        # empty directories left behind are harmless; tidy them up
        base = self.local_path(dirname)
        for dirpath in sorted((p for p, _d, _n in os.walk(base)), reverse=True):   # children first
            try:
                os.rmdir(dirpath)
            except OSError:
                pass

    @contextlib.contextmanager
    def lock(self):
        """One launcher operation at a time (the app may confirm while an
        operator runs install from the console)."""
        import fcntl
        self._ensure_dir("boot")
        fd = os.open(self.local_path("boot/.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as e:           # pragma: no cover - platforms without dir fds
        if e.errno in (errno.EACCES, errno.EISDIR):
            return
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
