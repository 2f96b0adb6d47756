"""Temperature files: sysfs thermal zones, hwmon and IIO all report millidegrees C
as ASCII. A read that fails or makes no sense returns None: the governor treats
that as a sensor fault (heater off), never as a temperature."""
import os


class SysfsTemperature:
    def __init__(self, path, scale=0.001):
        self.path = path
        self.scale = scale
        self.errors = 0

    def read(self):
        # os.open/read/close: three system calls, a third of what a buffered
        # open() costs; the file is reopened each time because the sim (and
        # some drivers) replace it rather than rewrite it
        try:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                raw = os.read(fd, 32)
            finally:
                os.close(fd)
            v = int(raw) * self.scale
        except (OSError, ValueError):
            self.errors += 1
            return None
        return v


def write_millidegrees(path, celsius):
    """The sim's side of a sysfs temperature file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % int(round(celsius * 1000)))
    os.replace(tmp, path)
