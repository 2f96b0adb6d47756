"""Base readers for the applier: the base is only ever read by offset."""
import contextlib
import hashlib
import os

from .errors import DeltaError

CHUNK = 1 << 16


class BytesBase:
    def __init__(self, data):
        self._view = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
        self.size = len(self._view)

    def read_at(self, offset, n):
        return bytes(self._view[offset:offset + n])

    def close(self):
        pass


class FileBase:
    """A binary file (or a path) read with seek + read; owns the file only when it opened it."""

    def __init__(self, f, owned=False):
        self._f = f
        self._owned = owned
        f.seek(0, os.SEEK_END)
        self.size = f.tell()
        try:
            self._fd = f.fileno() if hasattr(os, "pread") else None
        except (OSError, AttributeError, ValueError):
            self._fd = None         # a file object without a descriptor (BytesIO)

    @classmethod
    def open(cls, path):
        return cls(open(path, "rb"), owned=True)

    def read_at(self, offset, n):
        if self._fd is not None:
            b = os.pread(self._fd, n, offset)
        else:
            self._f.seek(offset)
            b = self._f.read(n)
        if len(b) != n:
            raise DeltaError("base-changed", "the base file shrank while the patch was applied "
                             "(read %d of %d bytes at offset %d)" % (len(b), n, offset))
        return b

    def close(self):
        if self._owned:
            self._f.close()


def as_base(base):
    """bytes-like, a path, a binary file, or an object with size + read_at."""
    if hasattr(base, "read_at") and hasattr(base, "size"):
        return base
    if isinstance(base, (bytes, bytearray, memoryview)):
        return BytesBase(base)
    if isinstance(base, (str, os.PathLike)):
        return FileBase.open(base)
    if hasattr(base, "seek") and hasattr(base, "read"):
        return FileBase(base)
    raise TypeError("base must be bytes, a path, a binary file or have size and read_at(), not %s"
                    % type(base).__name__)


def base_chunks(base, chunk=CHUNK):
    for off in range(0, base.size, chunk):
        yield base.read_at(off, min(chunk, base.size - off))


class HashSink:
    """An out_writer that keeps only the SHA-256 and the length of what it got."""

    def __init__(self):
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, b):
        self.sha.update(b)
        self.size += len(b)


@contextlib.contextmanager
def atomic_file(path):
    """A binary file written as path.tmp, fsynced and renamed to path on success;
    removed on any failure, so path is either absent or complete."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
