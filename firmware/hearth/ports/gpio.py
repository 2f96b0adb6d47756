"""Linux GPIO character device (uAPI v1 line handles) without a C binding.

Real boards wire buttons, the door switch, relays and the light ring to GPIO
lines; the board TOML names the chip and line offsets. The v1 ioctls are a
stable kernel ABI; tests check the request numbers against <linux/gpio.h>.
"""
import fcntl
import os
import struct

GPIOHANDLES_MAX = 64
REQUEST_INPUT = 1 << 0
REQUEST_OUTPUT = 1 << 1
REQUEST_ACTIVE_LOW = 1 << 2

# struct gpiohandle_request { u32 lineoffsets[64]; u32 flags; u8 default_values[64];
#                             char consumer_label[32]; u32 lines; int fd; }
REQ_FMT = "=64IL64s32sLi".replace("L", "I")
REQ_SIZE = struct.calcsize(REQ_FMT)          # 364
DATA_SIZE = GPIOHANDLES_MAX                  # struct gpiohandle_data { u8 values[64]; }


def _iowr(typ, nr, size):
    return (3 << 30) | (size << 16) | (typ << 8) | nr


GPIO_GET_LINEHANDLE_IOCTL = _iowr(0xB4, 0x03, REQ_SIZE)
GPIOHANDLE_GET_LINE_VALUES_IOCTL = _iowr(0xB4, 0x08, DATA_SIZE)
GPIOHANDLE_SET_LINE_VALUES_IOCTL = _iowr(0xB4, 0x09, DATA_SIZE)


class GpioError(OSError):
    pass


def pack_request(offsets, flags, defaults=(), label=b"hearth"):
    if not 0 < len(offsets) <= GPIOHANDLES_MAX:
        raise GpioError("1..64 lines per request")
    offs = list(offsets) + [0] * (GPIOHANDLES_MAX - len(offsets))
    vals = bytes(list(defaults) + [0] * (GPIOHANDLES_MAX - len(defaults)))
    return struct.pack(REQ_FMT, *offs, flags, vals, label[:31], len(offsets), 0)


class LineGroup:
    """A set of lines requested together (all inputs or all outputs)."""

    def __init__(self, chip, offsets, output, active_low=False, defaults=()):
        flags = REQUEST_OUTPUT if output else REQUEST_INPUT
        if active_low:
            flags |= REQUEST_ACTIVE_LOW
        self.n = len(offsets)
        try:
            chip_fd = os.open(chip, os.O_RDONLY)
        except OSError as e:
            raise GpioError("%s: %s" % (chip, e.strerror)) from None
        try:
            buf = bytearray(pack_request(offsets, flags, defaults))
            fcntl.ioctl(chip_fd, GPIO_GET_LINEHANDLE_IOCTL, buf, True)
            self.fd = struct.unpack(REQ_FMT, bytes(buf))[-1]
        except OSError as e:
            raise GpioError("%s lines %s: %s" % (chip, list(offsets), e.strerror)) from None
        finally:
            os.close(chip_fd)

    def get(self):
        buf = bytearray(DATA_SIZE)
        fcntl.ioctl(self.fd, GPIOHANDLE_GET_LINE_VALUES_IOCTL, buf, True)
        return list(buf[: self.n])

    def set(self, values):
        buf = bytearray(DATA_SIZE)
        buf[: self.n] = bytes([1 if v else 0 for v in values])
        fcntl.ioctl(self.fd, GPIOHANDLE_SET_LINE_VALUES_IOCTL, buf, True)

    def close(self):
        os.close(self.fd)


# Light-ring patterns as (r, g, b, blink period in s; 0 = steady).
RING_COLOURS = {
    "off": (0, 0, 0, 0), "idle": (0, 0, 0, 0),
    "orange-fill": (1, 1, 0, 0), "green": (0, 1, 0, 0),
    "blue-spin": (0, 0, 1, 0.5), "amber-pulse": (1, 1, 0, 1.0),
    "red-slow": (1, 0, 0, 2.0), "red-fast": (1, 0, 0, 0.25), "red-flash": (1, 0, 0, 0.5),
}
BUTTONS = ("start", "stop", "up", "down", "light", "timer")


class GpioInputs:
    """Buttons (press = released -> pressed edge between polls), door switch,
    and the cavity/food temperature sensors."""

    def __init__(self, chip, lines, active_low, cavity, food):
        self.names = [n for n in BUTTONS if n in lines] + ["door"]
        self.group = LineGroup(chip, [lines[n] for n in self.names], False, active_low)
        self.prev = [0] * len(self.names)
        self.cavity = cavity
        self.food_probe = food

    def poll(self, now):
        """Every block: one ioctl for all buttons and the door, one pread for
        the cavity probe (the governor cuts the heater on it at once)."""
        vals = self.group.get()
        presses = [n for n, v, p in zip(self.names[:-1], vals, self.prev) if v and not p]
        self.prev = vals
        return presses, bool(vals[-1]), self.cavity.read()

    def food(self, now):
        """On control turns: the food probe, when the board has one."""
        return self.food_probe.read() if self.food_probe else None


class GpioOutputs:
    NAMES = ("heater", "fan", "lamp", "buzzer", "ring_r", "ring_g", "ring_b")

    def __init__(self, chip, lines, active_low=False):
        self.names = [n for n in self.NAMES if n in lines]
        # Everything starts off: a crashed loop must never leave the heater on
        # (the kernel releases the lines when the process dies).
        self.group = LineGroup(chip, [lines[n] for n in self.names], True, active_low,
                               [0] * len(self.names))

    def write(self, outputs, ring, now):
        """Set every line; returns when the ring blinks next (the loop writes
        again then even if nothing changed), or None for a steady ring."""
        r, g, b, period = RING_COLOURS.get(ring, (1, 0, 0, 0.25))
        half = period / 2.0
        phase = int(now / half) if period else 0
        lit = phase % 2 == 0
        state = dict(outputs)
        state.update(ring_r=r and lit, ring_g=g and lit, ring_b=b and lit)
        self.group.set([state.get(n, False) for n in self.names])
        return (phase + 1) * half if period else None
