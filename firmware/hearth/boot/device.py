"""What the launcher and the image builder need to know about a board.

The board file is read by the one strict loader (hearth.board.load: every
section and key checked, the bad one named), then reduced to the few facts
the launcher records: [board] name, the arch (this machine's for a board of
kind = "sim"), [storage] slot_bytes and root.
"""
from ..board import ARCHES, BoardError, host_arch, load

__all__ = ["ARCHES", "BoardError", "host_arch", "load_board"]


def load_board(path):
    """Board TOML -> {"name", "kind", "arch", "slot_bytes", "storage_root"}.

    Raises BoardError (a ValueError) naming the file and the bad key."""
    b = load(path)
    return {
        "name": b.name,
        "kind": b.kind,
        "arch": b.arch,
        "slot_bytes": b.get("storage.slot_bytes"),
        "storage_root": b.get("storage.root"),
    }
