"""Temperature files: sysfs thermal zones, hwmon and IIO all report millidegrees C
as ASCII. A read that fails or makes no sense returns None: the governor treats
that as a sensor fault (heater off), never as a temperature."""
import os


class SysfsTemperature:
    """One temperature file, kept open: each read is pread() at offset 0
    (sysfs regenerates the value on every read from 0) plus an fstat that
    notices when the file was replaced (the sim writes a new file and renames
    it over the old one), instead of an open/read/close with a path walk."""

    def __init__(self, path, scale=0.001):
        self.path = path
        self.scale = scale
        self.errors = 0
        self.fd = None

    def read(self):
        try:
            fd = self.fd
            if fd is not None and os.fstat(fd).st_nlink == 0:
                self.close()                    # replaced (or removed): reopen by name
                fd = None
            if fd is None:
                fd = self.fd = os.open(self.path, os.O_RDONLY)
            v = int(os.pread(fd, 32, 0)) * self.scale
        except (OSError, ValueError):
            self.errors += 1
            return None
        return v

    def close(self):
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None

    def __del__(self):
        self.close()


def write_millidegrees(path, celsius):
    """The sim's side of a sysfs temperature file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % int(round(celsius * 1000)))
    os.replace(tmp, path)
