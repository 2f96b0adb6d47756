"""The host side of SMP (MCUmgr): a client over any host transport
(hearth_tools.transport) and the operations built on it (flash.py).
docs/SMP.md describes the protocol as Hearth serves it."""
from .client import SmpClient, SmpDeviceError
from .flash import FlashError, flash

__all__ = ["FlashError", "SmpClient", "SmpDeviceError", "flash"]
