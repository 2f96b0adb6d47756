"""Device storage: one directory; every write is atomic (tmp, fsync, rename)."""
import os


class Storage:
    def __init__(self, root):
        self.root = os.path.abspath(root)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def ensure(self, *parts):
        p = self.path(*parts)
        os.makedirs(p, exist_ok=True)
        return p

    def read(self, *parts):
        with open(self.path(*parts), "rb") as f:
            return f.read()

    def write(self, data, *parts):
        """Write-new, fsync, rename: a power cut leaves the old or the new file."""
        p = self.path(*parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        tmp = p + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
        fd = os.open(os.path.dirname(p), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def __str__(self):
        return self.root

    def __fspath__(self):
        return self.root
