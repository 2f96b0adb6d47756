"""One test per parser defect the coverage-guided fuzzers found (the reproducers
themselves are kept in tests/fuzz/crashes/<target>/ and replayed as seeds on
every fuzz run)."""
import glob
import io
import os
import tarfile

import pytest

from hearth.image import archive, manifest
from hearth.image.errors import ImageError

HERE = os.path.dirname(__file__)
GOLDEN = os.path.join(HERE, "..", "golden", "image", "archive-v1.tar")


def _rechecksum(hdr):
    hdr[148:156] = b" " * 8
    hdr[148:156] = b"%06o\0 " % sum(hdr)


def _with_field(data, entry_index, start, end, value):
    """`data` with one header field of entry `entry_index` replaced, checksum fixed."""
    entries = archive.scan(data)
    at = entries[entry_index].offset - archive.BLOCK
    out = bytearray(data)
    hdr = out[at:at + archive.BLOCK]
    hdr[start:end] = value
    _rechecksum(hdr)
    out[at:at + archive.BLOCK] = hdr
    return bytes(out)


def _tarfile_names(data):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
        return [m.name for m in tf.getmembers()]


# Found by image_archive (tests/fuzz/crashes/image_archive/mtime-not-octal): the
# reader skipped uid, gid, mtime and the device numbers, so a header whose
# mtime is not octal was accepted, while tarfile (and GNU tar) stop at that
# header: a file the device installs that `tar tf` of the same payload
# does not show.
@pytest.mark.parametrize("field", [("uid", 108, 116), ("gid", 116, 124), ("mtime", 136, 148),
                                   ("devmajor", 329, 337), ("devminor", 337, 345)],
                         ids=lambda f: f[0])
def test_archive_refuses_a_numeric_field_that_is_not_octal(field):
    name, start, end = field
    with open(GOLDEN, "rb") as f:
        good = f.read()
    value = b"," + b"0" * (end - start - 2) + b"\0"
    bad = _with_field(good, -1, start, end, value)
    # the peer stops at that header: it sees one file fewer
    assert len(_tarfile_names(bad)) == len(archive.scan(good)) - 1
    with pytest.raises(ImageError) as e:
        archive.scan(bad)
    assert e.value.code == "archive" and name in str(e.value) and "octal" in str(e.value)


# Deep JSON nesting made json.loads raise RecursionError, which escaped the
# manifest loader (and so the launcher's install path) instead of a refusal.
@pytest.mark.parametrize("doc", [b"[" * 4000, b'{"a":' * 4000, b"[" * 200000])
def test_manifest_refuses_deep_nesting(doc):
    with pytest.raises(ImageError) as e:
        manifest.load(doc)
    assert e.value.code == "manifest" and "nested" in str(e.value)


# Every kept reproducer of a Python target, refused by the parser it crashed.
PARSERS = {"image_archive": archive.scan, "image_manifest": manifest.load}
KEPT = sorted(p for target in PARSERS for p in glob.glob(os.path.join(HERE, "crashes", target, "*")))


@pytest.mark.parametrize("path", KEPT, ids=lambda p: "/".join(p.split(os.sep)[-2:]))
def test_kept_reproducers_are_refused(path):
    parse = PARSERS[os.path.basename(os.path.dirname(path))]
    with open(path, "rb") as f:
        data = f.read()
    with pytest.raises(ImageError):
        parse(data)
