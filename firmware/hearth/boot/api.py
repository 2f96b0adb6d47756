"""The launcher as the running application sees it.

    from hearth.boot import api
    api.status(storage)   -> {"slot", "trial", "version", "security_counter", ...}
    api.confirm(storage)  -> status dict with "confirmed": True/False
    api.revert(storage), api.install(storage, path_or_file)

`storage` is the storage directory (str / PathLike) or a Storage object.
Errors are hearth.boot.StateError or hearth.image.ImageError (both carry a
short .code and a one-line message).
"""
import os

from .launcher import Launcher
from .storage import DirStorage, Storage


def _launcher(storage):
    if isinstance(storage, Launcher):
        return storage
    if isinstance(storage, Storage):
        return Launcher(storage)
    return Launcher(DirStorage(os.fspath(storage)))


def status(storage):
    return _launcher(storage).status()


def confirm(storage):
    return _launcher(storage).confirm()


def revert(storage):
    return _launcher(storage).revert()


def install(storage, image, max_attempts=None, allow_downgrade=False):
    return _launcher(storage).install(image, max_attempts=max_attempts, allow_downgrade=allow_downgrade)
