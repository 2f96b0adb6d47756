"""Deterministic POSIX ustar archives: same entries in, same bytes out.

Every header carries fixed metadata (uid/gid 0, no user names, mtime 0,
mode 0644 or 0755), entries keep the caller's order (the bundle puts
manifest.json first so the device can read it before anything else), and the
archive ends with the two zero blocks tar requires, without record padding.
`tar tf`, Python's tarfile and hearth.image.archive all read the result.
"""
from hearth.image.archive import BLOCK, check_path


def _octal(value, width):
    # width-1 octal digits and a NUL, as ustar numeric fields want
    s = b"%0*o" % (width - 1, value)
    if len(s) > width - 1:
        raise ValueError("value %d does not fit a %d-byte ustar field" % (value, width))
    return s + b"\0"


def _split(path):
    raw = path.encode("utf-8")
    if len(raw) <= 100:
        return raw, b""
    # ustar: prefix (<= 155 bytes) + "/" + name (<= 100 bytes)
    for i in range(len(raw) - 1, 0, -1):
        if raw[i:i + 1] == b"/" and i <= 155 and len(raw) - i - 1 <= 100:
            return raw[i + 1:], raw[:i]
    raise ValueError("path %r is too long for ustar" % path)


def header(path, size, mode):
    name, prefix = _split(check_path(path))
    h = bytearray(BLOCK)
    h[0:len(name)] = name
    h[100:108] = _octal(mode, 8)
    h[108:116] = _octal(0, 8)                # uid
    h[116:124] = _octal(0, 8)                # gid
    h[124:136] = _octal(size, 12)
    h[136:148] = _octal(0, 12)               # mtime: fixed, so builds are reproducible
    h[148:156] = b" " * 8                    # checksum placeholder
    h[156:157] = b"0"                        # regular file
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[329:337] = _octal(0, 8)                # devmajor
    h[337:345] = _octal(0, 8)                # devminor
    h[345:345 + len(prefix)] = prefix
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def write(entries):
    """entries: iterable of (path, data, mode) in archive order. Returns bytes."""
    out = bytearray()
    seen = set()
    for path, data, mode in entries:
        if path in seen:
            raise ValueError("duplicate archive path %r" % path)
        seen.add(path)
        mode = 0o755 if mode & 0o111 else 0o644
        out += header(path, len(data), mode)
        out += data
        out += bytes(-len(data) % BLOCK)
    out += bytes(2 * BLOCK)
    return bytes(out)
