"""SerialTransport: a UART, or anything pyserial opens by URL.

`serial.serial_for_url` takes a port name (/dev/ttyUSB0, COM3, a pty path)
or a URL - socket://HOST:PORT (raw TCP, e.g. ser2net or a board's telnet
bridge), rfc2217://HOST:PORT, loop:// - so every one of those goes through
this one class.
"""
import serial

from ..errors import UsageError
from .base import DEFAULT_TIMEOUT, DeviceUnreachable, Transport, TransportTimeout

DEFAULT_BAUD = 115200


def _one_line(e):
    return " ".join(str(e).split())


class SerialTransport(Transport):
    def __init__(self, port, baud=DEFAULT_BAUD, timeout=DEFAULT_TIMEOUT):
        super().__init__(timeout)
        self.port = port
        self.baud = baud
        self.description = port if "://" in port else "serial %s" % port
        self.ser = None

    def _hint(self):
        if self.port.startswith(("socket://", "rfc2217://")):
            return "is something listening at %s?" % self.port.split("://", 1)[1]
        return ("check the cable and the port name (ls /dev/ttyUSB* /dev/ttyACM*) and that you may "
                "open it (the dialout group)")

    def _open(self):
        try:
            ser = serial.serial_for_url(self.port, baudrate=self.baud, timeout=self.timeout,
                                        write_timeout=self.timeout, do_not_open=True)
            ser.open()
        except ValueError as e:                         # an unknown URL scheme, a bad baud rate
            raise UsageError("%s: %s" % (self.port, _one_line(e))) from None
        except (serial.SerialException, OSError) as e:
            raise DeviceUnreachable("cannot open %s: %s; %s" % (self.port, _one_line(e), self._hint())) from None
        self.ser = ser

    def _close(self):
        ser, self.ser = self.ser, None
        try:
            ser.close()
        except (serial.SerialException, OSError):
            pass

    def _gone(self, e):
        return DeviceUnreachable("%s: the link failed (%s); is the device still connected?"
                                 % (self.port, _one_line(e)))

    def _read_some(self, timeout):
        ser = self.ser
        try:
            if ser.timeout != timeout:
                ser.timeout = max(0.0, timeout)
            data = ser.read(1)
            if data:
                waiting = ser.in_waiting
                if waiting:
                    data += ser.read(waiting)
        except (serial.SerialException, OSError) as e:
            raise self._gone(e) from None
        return data

    def _write(self, data):
        try:
            self.ser.write(data)
            self.ser.flush()
        except serial.SerialTimeoutException:
            raise TransportTimeout("%s: the device is not reading (write timed out after %.1f s); "
                                   "check flow control and that it is running" % (self.port, self.timeout)) from None
        except (serial.SerialException, OSError) as e:
            raise self._gone(e) from None
