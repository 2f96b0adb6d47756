"""Strict reader for the bundle archive (the image payload).

The payload is a POSIX ustar archive, so `tar tf` and Python's tarfile read it,
but this reader accepts only the narrow subset the host builder writes:
regular files (and, tolerated, directory entries), relative clean paths, no
links, devices, FIFOs, pax or GNU extension headers, no duplicated or
conflicting paths, checksums that add up, and nothing but zero blocks after
the end marker. Everything else is an ImageError naming the entry.

The reader never touches the filesystem; extraction happens through the
launcher's storage layer after every entry has been checked.
"""
from .errors import ImageError

BLOCK = 512
MAX_ENTRIES = 4096
MAX_PATH = 255

# typeflag -> why we refuse it (the only accepted ones are regular files and
# directories: a link or a device in a firmware bundle is either a mistake or
# an attack on the extractor).
_REFUSED_TYPES = {
    b"1": "hard link", b"2": "symbolic link", b"3": "character device", b"4": "block device",
    b"6": "FIFO", b"7": "contiguous file", b"x": "pax extended header", b"g": "pax global header",
    b"L": "GNU long name", b"K": "GNU long link name", b"S": "GNU sparse file",
}
# ustar numeric fields the reader has no use for: (name, start, end).
_UNUSED_NUMBERS = (("uid", 108, 116), ("gid", 116, 124), ("mtime", 136, 148),
                   ("devmajor", 329, 337), ("devminor", 337, 345))
REGULAR = "file"
DIRECTORY = "dir"


class Entry:
    __slots__ = ("path", "kind", "offset", "size", "mode")

    def __init__(self, path, kind, offset, size, mode):
        self.path = path          # clean relative path, '/'-separated, no trailing '/'
        self.kind = kind          # REGULAR or DIRECTORY
        self.offset = offset      # of the data in the archive
        self.size = size
        self.mode = mode          # permission bits only

    def __repr__(self):
        return "Entry(%r, %s, %d bytes)" % (self.path, self.kind, self.size)


def _octal(field, what, path):
    # ustar numeric fields: octal digits, then NUL or space padding.
    raw = bytes(field)
    if raw and raw[0] & 0x80:
        raise ImageError("archive", "%s of %r uses base-256 encoding" % (what, path))
    digits = raw.rstrip(b"\0 ").lstrip(b" ")
    if not digits:
        return 0
    if any(c not in b"01234567" for c in digits):
        raise ImageError("archive", "%s of %r is not an octal number" % (what, path))
    return int(digits, 8)


def _cstring(field, what):
    raw = bytes(field)
    n = raw.find(b"\0")
    if n >= 0:
        if raw[n:].strip(b"\0"):
            raise ImageError("archive", "%s has data after its terminator" % what)
        raw = raw[:n]
    return raw


def check_path(path):
    """Refuse anything that is not a clean relative path. Returns the path."""
    if not path:
        raise ImageError("unsafe-path", "archive entry with an empty name")
    if len(path) > MAX_PATH:
        raise ImageError("unsafe-path", "archive entry name longer than %d bytes" % MAX_PATH)
    if path.startswith("/"):
        raise ImageError("unsafe-path", "archive entry %r has an absolute path" % path)
    if "\\" in path:
        raise ImageError("unsafe-path", "archive entry %r contains a backslash" % path)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        raise ImageError("unsafe-path", "archive entry %r contains a control character" % path)
    for part in path.split("/"):
        if part == "..":
            raise ImageError("unsafe-path", "archive entry %r escapes with '..'" % path)
        if part in ("", "."):
            raise ImageError("unsafe-path", "archive entry %r is not a normalized path" % path)
    return path


def scan(data):
    """Check the whole archive and return its entries in order.

    `data` is bytes/memoryview. Raises ImageError on the first problem.
    """
    data = memoryview(data)
    n = len(data)
    off = 0
    entries = []
    seen = ({}, set())
    while True:
        if off + BLOCK > n:
            raise ImageError("archive", "archive truncated at byte %d (no end marker)" % off)
        hdr = data[off:off + BLOCK]
        if not any(hdr):
            # end marker: two zero blocks, then only zero padding
            if off + 2 * BLOCK > n or any(data[off + BLOCK:off + 2 * BLOCK]):
                raise ImageError("archive", "archive truncated at byte %d (half an end marker)" % off)
            if any(data[off + 2 * BLOCK:]):
                raise ImageError("archive", "data after the archive end marker")
            return entries
        entry = _parse_header(hdr, off)
        if len(entries) >= MAX_ENTRIES:
            raise ImageError("archive", "more than %d archive entries" % MAX_ENTRIES)
        _claim(seen, entry)
        data_end = entry.offset + entry.size
        padded = entry.offset + -(-entry.size // BLOCK) * BLOCK
        if padded > n:
            raise ImageError("archive", "archive entry %r truncated (%d bytes declared)"
                             % (entry.path, entry.size))
        if any(data[data_end:padded]):
            raise ImageError("archive", "archive entry %r has non-zero padding" % entry.path)
        entries.append(entry)
        off = padded


def _parse_header(hdr, off):
    want = _octal(hdr[148:156], "checksum", "header at byte %d" % off)
    got = sum(hdr[:148]) + 8 * 0x20 + sum(hdr[156:])
    if want != got:
        raise ImageError("archive", "bad header checksum at byte %d" % off)
    if bytes(hdr[257:263]) != b"ustar\0" or bytes(hdr[263:265]) != b"00":
        raise ImageError("archive", "header at byte %d is not POSIX ustar" % off)
    name = _cstring(hdr[0:100], "entry name")
    prefix = _cstring(hdr[345:500], "entry prefix")
    raw = prefix + b"/" + name if prefix else name
    try:
        path = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ImageError("unsafe-path", "archive entry name at byte %d is not UTF-8" % off) from None
    tflag = bytes(hdr[156:157])
    if tflag in _REFUSED_TYPES:
        raise ImageError("archive-link" if tflag in (b"1", b"2") else "archive-type",
                         "archive entry %r is a %s" % (path, _REFUSED_TYPES[tflag]))
    if tflag in (b"0", b"\0"):
        kind = REGULAR
    elif tflag == b"5":
        kind = DIRECTORY
        if path.endswith("/"):
            path = path[:-1]
    else:
        raise ImageError("archive-type", "archive entry %r has unknown type %r" % (path, tflag))
    check_path(path)
    if _cstring(hdr[157:257], "link name"):
        raise ImageError("archive-link", "archive entry %r carries a link target" % path)
    size = _octal(hdr[124:136], "size", path)
    if kind == DIRECTORY and size:
        raise ImageError("archive", "directory entry %r has a size" % path)
    mode = _octal(hdr[100:108], "mode", path) & 0o777
    # Unused, but tar peers stop at a header whose numbers do not parse: a
    # file we accepted there would be invisible to `tar tf` of the payload.
    for what, start, end in _UNUSED_NUMBERS:
        _octal(hdr[start:end], what, path)
    return Entry(path, kind, off + BLOCK, size, mode)


def _claim(seen, entry):
    """Duplicates and file/directory conflicts are refused.

    seen = (explicit: {path: kind}, implied: set of parent directories).
    """
    explicit, implied = seen
    parts = entry.path.split("/")
    for i in range(1, len(parts)):
        parent = "/".join(parts[:i])
        if explicit.get(parent) == REGULAR:
            raise ImageError("archive", "archive path %r is both a file and a directory" % parent)
        implied.add(parent)
    if entry.path in explicit:
        raise ImageError("duplicate-entry", "duplicated archive entry %r" % entry.path)
    if entry.kind == REGULAR and entry.path in implied:
        raise ImageError("archive", "archive path %r is both a file and a directory" % entry.path)
    explicit[entry.path] = entry.kind


def files(data):
    """{path: bytes} of the regular files, after a full scan()."""
    data = memoryview(data)
    return {e.path: bytes(data[e.offset:e.offset + e.size]) for e in scan(data) if e.kind == REGULAR}
