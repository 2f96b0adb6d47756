"""What the launcher needs to know about the board it runs on.

Read from the board TOML (boards/NAME.toml): [board] name, arch, and
[storage] slot_bytes (and root, which the caller resolves). A board of
kind = "sim" runs on the host, as does an arch of "host" (or none): the arch
is then this machine's.
"""
import platform

ARCHES = ("x86_64", "aarch64", "armv7")
DEFAULT_SLOT_BYTES = 16 << 20

# platform.machine() spellings -> our arch names. armv8l is a 32-bit ARM
# userland on a 64-bit kernel: it runs armv7 code.
_MACHINE = {
    "x86_64": "x86_64", "amd64": "x86_64",
    "aarch64": "aarch64", "arm64": "aarch64",
    "armv7l": "armv7", "armv7": "armv7", "armv8l": "armv7", "armhf": "armv7",
}


def host_arch():
    m = platform.machine().lower()
    return _MACHINE.get(m, m)


def normalize_arch(arch):
    if arch in (None, "", "host", "native"):
        return host_arch()
    a = _MACHINE.get(str(arch).lower(), str(arch).lower())
    if a not in ARCHES:
        raise ValueError("unknown architecture %r (known: %s)" % (arch, ", ".join(ARCHES)))
    return a


def load_board(path):
    """Board TOML -> {"name", "arch", "slot_bytes", "storage_root", "raw"}."""
    import tomllib
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except OSError as e:
        raise ValueError("cannot read board file %s: %s" % (path, e.strerror)) from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError("board file %s is not valid TOML: %s" % (path, e)) from None
    board = raw.get("board")
    if not isinstance(board, dict) or not isinstance(board.get("name"), str) or not board["name"]:
        raise ValueError("board file %s has no [board] name" % path)
    storage = raw.get("storage") if isinstance(raw.get("storage"), dict) else {}
    slot_bytes = storage.get("slot_bytes", DEFAULT_SLOT_BYTES)
    if not isinstance(slot_bytes, int) or isinstance(slot_bytes, bool) or slot_bytes < 4096:
        raise ValueError("board file %s: [storage] slot_bytes must be an integer >= 4096" % path)
    return {
        "name": board["name"],
        # a simulated board runs on whatever machine runs the simulator
        "arch": host_arch() if board.get("kind") == "sim" else normalize_arch(board.get("arch")),
        "slot_bytes": slot_bytes,
        "storage_root": storage.get("root"),
        "raw": raw,
    }
