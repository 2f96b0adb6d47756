"""Portable appliance logic (MicroPython/CPython common subset).

Nothing here touches files, clocks, sockets or numpy: callers pass the time
(`now`, seconds as float) and the sensor readings in, and get decisions out.
That keeps the same code testable on CPython and runnable on MicroPython.
"""
