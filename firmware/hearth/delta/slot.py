"""Applying a patch through the launcher's storage layer, resumably.

The result is written one segment at a time: segment i goes to
`<dir>/seg-<i>.tmp`, is fsynced and renamed to `<dir>/seg-<i>`, then the
progress record `<dir>/progress.json` is replaced atomically (write-new,
fsync, rename, fsync the directory, which also makes the segment's rename
durable). A power cut therefore loses at most the segment in flight: the next
apply of the same patch reads the record, checks every finished segment file
(size and CRC32), skips the patch to the recorded offset and goes on.
"""
import json
import zlib

from .errors import DeltaError
from .io import BytesBase, FileBase

PROGRESS = "progress.json"


class StorageBase:
    """The base image, read by offset from a storage file (the active slot)."""

    def __new__(cls, st, name):
        local = getattr(st, "local_path", None)
        st._read_op("read", name)                # counted and fault-injectable like every read
        if local is not None:
            return FileBase.open(local(name))
        return BytesBase(st.read(name))          # SimStorage: the file is in memory anyway


class StorageOutput:
    """out_writer + checkpoint for hearth.delta.apply, on a Storage directory."""

    def __init__(self, st, directory):
        self.st = st
        self.dir = directory
        self._h = None
        self._seg = 0
        self._crc = 0
        self._size = 0
        self.segments = []            # [(size, crc32)] of the finished segment files
        self.progress = None

    def _name(self, i, tmp=False):
        return "%s/seg-%06d%s" % (self.dir, i, ".tmp" if tmp else "")

    # -- checkpoint protocol ------------------------------------------------
    def load(self):
        """The recorded progress when every segment it names is intact, else None."""
        name = "%s/%s" % (self.dir, PROGRESS)
        self.close()
        self.segments, self._seg, self.progress = [], 0, None
        if not self.st.exists(name):
            return None
        try:
            p = json.loads(self.st.read(name).decode("utf-8"))
            segs = [(int(n), int(c)) for n, c in p["segments"]]
            if len(segs) != p["segment"] or sum(n for n, _c in segs) != p["out_offset"]:
                return None
            for i, (n, c) in enumerate(segs):
                crc, size = 0, 0
                for b in self.st.read_chunks(self._name(i)):
                    crc = zlib.crc32(b, crc)
                    size += len(b)
                if (size, crc) != (n, c):
                    return None
        except (ValueError, KeyError, TypeError, OSError):
            return None                # unreadable or inconsistent: start again
        self.segments = segs
        self._seg = len(segs)
        self.progress = p
        return p

    def output_chunks(self):
        for i in range(len(self.segments)):
            yield from self.st.read_chunks(self._name(i))

    def write(self, b):
        if self._h is None:
            self._h = self.st.open_write(self._name(self._seg, tmp=True))
            self._crc, self._size = 0, 0
        self.st.write(self._h, b)
        self._crc = zlib.crc32(b, self._crc)
        self._size += len(b)

    def save(self, progress):
        st = self.st
        h, self._h = self._h, None
        if h is None:
            raise DeltaError("bad-segment", "segment %d produced no output" % self._seg)
        try:
            st.fsync(h)
        finally:
            st.close(h)
        st.rename(self._name(self._seg, tmp=True), self._name(self._seg))
        self.segments.append((self._size, self._crc))
        self._seg += 1
        record = dict(progress, segments=self.segments)
        st.write_atomic("%s/%s" % (self.dir, PROGRESS), json.dumps(record, sort_keys=True).encode())
        self.progress = record

    def close(self):
        if self._h is not None:
            self.st.close(self._h)
            self._h = None

    # -- the finished result ------------------------------------------------
    def reader(self):
        """A file-like over the finished result (what Launcher.install reads)."""
        return _Concat(self)

    def discard(self):
        """Forget the partial result (nothing of it is ever in a slot)."""
        self.close()
        self.st.remove_tree(self.dir)
        self.segments = []
        self._seg = 0


class _Concat:
    def __init__(self, out):
        self._it = out.output_chunks()
        self._buf = b""

    def read(self, n=-1):
        while (n < 0 or len(self._buf) < n):
            b = next(self._it, None)
            if b is None:
                break
            self._buf += b
        if n < 0:
            b, self._buf = self._buf, b""
        else:
            b, self._buf = self._buf[:n], self._buf[n:]
        return b
