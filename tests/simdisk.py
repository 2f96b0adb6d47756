"""An in-memory storage that knows what a power cut leaves behind.

Model (a journaling filesystem with a page cache, e.g. ext4 data=ordered):
  * a file's bytes become durable at fsync(file); writes since then are in
    the cache,
  * a directory's names (create, rename, remove) become durable at
    fsync_dir(dir); each name operation is atomic,
  * at a cut, each file keeps a prefix of its unsynced writes and each
    directory a prefix of its unsynced name operations. Which prefix is the
    crash mode:
        "drop"    nothing unsynced survives
        "keep"    everything issued survives (a write-through disk)
        "random"  a random prefix per file and per directory
  * the write in flight at the cut is torn: when everything before it
    survived, some of its bytes (not all) reach the file.

`crash()` returns a fresh SimStorage holding exactly what survived, which is
what the next boot sees. Directories are implicit (a file's parents exist).
"""
import posixpath
import random as _random

from hearth.boot.storage import PowerCut, Storage, _check_name


class _Inode:
    __slots__ = ("data", "durable", "pending")

    def __init__(self, data=b"", durable=True):
        self.data = bytearray(data)
        self.durable = bytes(data) if durable else b""
        self.pending = [] if durable else [("w", 0, bytes(data))]


class SimStorage(Storage):
    def __init__(self, files=None):
        super().__init__()
        self._names = {}
        for name, data in (files or {}).items():
            self._names[_check_name(name)] = _Inode(data)
        self._durable_names = dict(self._names)
        self._ns_pending = {}        # dir -> [("bind", name, inode) | ("unbind", name) | ("rename", src, dst)]
        self.inflight = None         # (inode, offset, bytes) of the write the cut interrupted

    # reads
    def read(self, name):
        self._read_op("read", name)
        try:
            return bytes(self._names[name].data)
        except KeyError:
            raise FileNotFoundError(name) from None

    def read_chunks(self, name, chunk=1 << 16):
        data = self.read(name)
        for i in range(0, len(data), chunk):
            yield data[i:i + chunk]

    def exists(self, name):
        return name in self._names

    def size(self, name):
        return len(self.read(name))

    def list_files(self, dirname):
        self._read_op("list", dirname)
        prefix = dirname.rstrip("/") + "/" if dirname else ""
        return [n for n in self._names if n.startswith(prefix)]

    def list_tree(self, dirname):
        """{relative path: "file" | "dir"}: files, and their parent directories."""
        out = {}
        base = len(dirname.rstrip("/")) + 1 if dirname else 0
        for name in self.list_files(dirname):
            parts = name[base:].split("/")
            for i in range(1, len(parts)):
                out["/".join(parts[:i])] = "dir"
            out[name[base:]] = "file"
        return out

    def listdir(self, dirname):
        self._read_op("list", dirname)
        prefix = dirname.rstrip("/") + "/" if dirname else ""
        return sorted({n[len(prefix):].split("/")[0] for n in self._names if n.startswith(prefix)})

    def snapshot(self):
        """{name: bytes} as a reader sees it now."""
        return {n: bytes(i.data) for n, i in self._names.items()}

    # mutations
    def _ns(self, name, op):
        self._ns_pending.setdefault(posixpath.dirname(name), []).append(op)

    def open_write(self, name):
        _check_name(name)
        inode = self._names.get(name)
        if inode is None:
            self._op("create", name)
            inode = _Inode(durable=False)
            inode.pending = []
            self._names[name] = inode
            self._ns(name, ("bind", name, inode))
        else:
            self._op("truncate", name)
            inode.data = bytearray()
            inode.pending.append(("t", 0))
        return [inode, name, 0]

    def write(self, h, data):
        inode, name, pos = h
        data = bytes(data)
        try:
            self._op("write", name, len(data))
        except PowerCut:
            self.inflight = (inode, pos, data)
            raise
        inode.data[pos:pos + len(data)] = data
        inode.pending.append(("w", pos, data))
        h[2] = pos + len(data)

    def fsync(self, h):
        inode = h[0]
        self._op("fsync", h[1])
        inode.durable = bytes(inode.data)
        inode.pending = []

    def close(self, h):
        pass

    def rename(self, src, dst):
        if posixpath.dirname(src) != posixpath.dirname(dst):
            raise ValueError("rename across directories is not atomic: %s -> %s" % (src, dst))
        if src not in self._names:
            raise FileNotFoundError(src)
        self._op("rename", dst)
        self._names[dst] = self._names.pop(src)
        self._ns(dst, ("rename", src, dst))

    def remove(self, name):
        self._op("remove", name)
        if self._names.pop(name, None) is not None:
            self._ns(name, ("unbind", name))

    def fsync_dir(self, dirname):
        self._op("fsync_dir", dirname)
        for op in self._ns_pending.pop(dirname, []):
            _apply_ns(self._durable_names, op)

    # the cut
    def crash(self, mode="drop", rng=None, tear=True):
        """What the next boot sees after power fails now."""
        rng = rng or _random.Random(0)

        def keep(n):
            if mode == "drop":
                return 0
            if mode == "keep":
                return n
            return rng.randint(0, n)

        names = dict(self._durable_names)
        for _d, ops in sorted(self._ns_pending.items()):
            for op in ops[:keep(len(ops))]:
                _apply_ns(names, op)
        files = {}
        for name, inode in names.items():
            data = bytearray(inode.durable)
            k = keep(len(inode.pending))
            for op in inode.pending[:k]:
                if op[0] == "t":
                    del data[op[1]:]
                else:
                    data[op[1]:op[1] + len(op[2])] = op[2]
            if (tear and self.inflight is not None and self.inflight[0] is inode
                    and k == len(inode.pending) and mode != "drop" and len(self.inflight[2]) > 1):
                _inode, pos, chunk = self.inflight
                cut = rng.randint(1, len(chunk) - 1) if mode == "random" else len(chunk) // 2
                data[pos:pos + cut] = chunk[:cut]
            files[name] = bytes(data)
        return SimStorage(files)


def _apply_ns(names, op):
    if op[0] == "bind":
        names[op[1]] = op[2]
    elif op[0] == "unbind":
        names.pop(op[1], None)
    else:
        inode = names.pop(op[1], None)
        if inode is not None:
            names[op[2]] = inode
