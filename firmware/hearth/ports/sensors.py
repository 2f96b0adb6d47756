"""Temperature files: sysfs thermal zones, hwmon and IIO all report millidegrees C
as ASCII. A read that fails or makes no sense returns None: the governor treats
that as a sensor fault (heater off), never as a temperature."""


class SysfsTemperature:
    def __init__(self, path, scale=0.001):
        self.path = path
        self.scale = scale
        self.errors = 0

    def read(self):
        try:
            with open(self.path, "rb") as f:
                raw = f.read(32)
            v = int(raw.strip()) * self.scale
        except (OSError, ValueError):
            self.errors += 1
            return None
        return v


def write_millidegrees(path, celsius):
    """The sim's side of a sysfs temperature file."""
    import os
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % int(round(celsius * 1000)))
    os.replace(tmp, path)
