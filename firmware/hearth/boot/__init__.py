"""hearth.boot: the launcher. A/B slots, trial boot, confirm/revert,
anti-rollback and recovery, power-cut safe at every storage operation.

Device use:   python -m hearth.boot {init,install,status,boot,confirm,revert} --storage DIR
Application:  hearth.boot.status(storage_dir), hearth.boot.confirm(storage_dir),
              hearth.boot.HealthCheck (see health.py and docs/UPDATES.md)

Importing this package is cheap: the image code and crypto load on first use.
"""
from .launcher import LAUNCHER_VERSION
from .state import StateError


def status(storage):
    from . import api
    return api.status(storage)


def confirm(storage):
    from . import api
    return api.confirm(storage)


def revert(storage):
    from . import api
    return api.revert(storage)


def install(storage, image, max_attempts=None, allow_downgrade=False):
    from . import api
    return api.install(storage, image, max_attempts=max_attempts, allow_downgrade=allow_downgrade)


def __getattr__(name):
    if name == "HealthCheck":
        from .health import HealthCheck
        return HealthCheck
    raise AttributeError(name)


__all__ = ["LAUNCHER_VERSION", "StateError", "status", "confirm", "revert", "install", "HealthCheck"]
