"""The bundle archive: our deterministic ustar writer against tar peers (Python's
tarfile, GNU tar), and the device's strict reader against hostile archives
made by those peers."""
import io
import os
import shutil
import subprocess
import tarfile

import pytest

from hearth.image import archive
from hearth.image.errors import ImageError
from hearth_tools.image import tarball

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "image", "archive-v1.tar")
LONG = "hearth/" + "/".join(["deeply_nested_directory_%02d" % i for i in range(5)]) + "/module_with_a_long_name.py"
ENTRIES = [
    ("manifest.json", b'{"format": 1}\n', 0o644),
    ("board.toml", b'[board]\nname = "sim"\n', 0o644),
    ("hearth/__init__.py", b"", 0o644),
    ("hearth/tool.sh", b"#!/bin/sh\necho hi\n", 0o755),
    ("models/blob.bin", bytes(range(256)) * 5 + b"tail", 0o600),
    (LONG, b"x = 1\n" * 100, 0o644),
]


def test_writer_is_deterministic_and_matches_the_golden_file():
    a = tarball.write(ENTRIES)
    assert a == tarball.write(list(ENTRIES))
    with open(GOLDEN, "rb") as f:
        assert a == f.read(), "archive format changed: regenerate tests/golden/image/archive-v1.tar on purpose"
    assert len(a) % 512 == 0


def test_peers_read_what_we_write():
    data = tarball.write(ENTRIES)
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        members = tf.getmembers()
        assert [m.name for m in members] == [e[0] for e in ENTRIES]
        for m, (_, content, mode) in zip(members, ENTRIES):
            assert m.isreg() and m.mtime == 0 and m.uid == 0 and m.uname == ""
            assert m.mode == (0o755 if mode & 0o111 else 0o644)
            assert tf.extractfile(m).read() == content
    ours = archive.files(data)
    assert ours == {p: c for p, c, _ in ENTRIES}
    if shutil.which("tar"):
        r = subprocess.run(["tar", "tf", "-"], input=data, capture_output=True, check=True)
        assert r.stdout.decode().split() == [e[0] for e in ENTRIES]


def test_reader_accepts_tarfile_ustar_output():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, content, _ in ENTRIES[:3]:
            ti = tarfile.TarInfo(name)
            ti.size = len(content)
            tf.addfile(ti, io.BytesIO(content))
        d = tarfile.TarInfo("emptydir")
        d.type = tarfile.DIRTYPE
        tf.addfile(d)
    entries = archive.scan(buf.getvalue())       # tarfile pads to a 10 KiB record: zeros only
    assert [e.path for e in entries] == ["manifest.json", "board.toml", "hearth/__init__.py", "emptydir"]
    assert entries[-1].kind == archive.DIRECTORY


def _tar(add, fmt=tarfile.USTAR_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        ti = tarfile.TarInfo("manifest.json")
        ti.size = 2
        tf.addfile(ti, io.BytesIO(b"{}"))
        add(tf)
    return buf.getvalue()


def _file(name, data=b"x"):
    def add(tf):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    return add


def _special(name, kind, target=""):
    def add(tf):
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.linkname = target
        if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
            ti.devmajor, ti.devminor = 1, 3
        tf.addfile(ti)
    return add


HOSTILE = [
    ("absolute path", _tar(_file("/etc/passwd")), "unsafe-path"),
    ("dot-dot", _tar(_file("hearth/../../etc/cron.d/x")), "unsafe-path"),
    ("leading dot-dot", _tar(_file("../x")), "unsafe-path"),
    ("dot component", _tar(_file("./hearth/x.py")), "unsafe-path"),
    ("empty component", _tar(_file("hearth//x.py")), "unsafe-path"),
    ("backslash", _tar(_file("hearth\\..\\x")), "unsafe-path"),
    ("control char", _tar(_file("hearth/x\x1b.py")), "unsafe-path"),
    ("symlink", _tar(_special("hearth/link", tarfile.SYMTYPE, "/etc/shadow")), "archive-link"),
    ("hard link", _tar(_special("hearth/hard", tarfile.LNKTYPE, "manifest.json")), "archive-link"),
    ("char device", _tar(_special("dev/null", tarfile.CHRTYPE)), "archive-type"),
    ("block device", _tar(_special("dev/sda", tarfile.BLKTYPE)), "archive-type"),
    ("fifo", _tar(_special("fifo", tarfile.FIFOTYPE)), "archive-type"),
    ("pax header", _tar(_file("h/" + "p" * 120), fmt=tarfile.PAX_FORMAT), "archive-type"),
    ("gnu long name", _tar(_file("g" * 120), fmt=tarfile.GNU_FORMAT), "archive"),
    ("duplicate", _tar(lambda tf: (_file("a")(tf), _file("a", b"yy")(tf))), "duplicate-entry"),
    ("file then dir", _tar(lambda tf: (_file("a")(tf), _file("a/b")(tf))), "archive"),
    ("dir then file", _tar(lambda tf: (_file("a/b")(tf), _file("a")(tf))), "archive"),
    ("duplicate manifest", _tar(_file("manifest.json")), "duplicate-entry"),
]


@pytest.mark.parametrize("name,data,code", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_archives_are_refused(name, data, code):
    with pytest.raises(ImageError) as e:
        archive.scan(data)
    assert e.value.code == code, str(e.value)


def test_malformed_headers_are_refused():
    good = tarball.write(ENTRIES[:2])
    cases = {}
    bad = bytearray(good)
    bad[0] ^= 1                                    # checksum no longer adds up
    cases["checksum"] = bad
    bad = bytearray(good)
    bad[124:136] = b"0000000009x\0"                 # size not octal (checksum fixed below)
    cases["size"] = bad
    bad = bytearray(good)
    bad[257:263] = b"ustar "                        # GNU magic
    cases["magic"] = bad
    bad = bytearray(good)
    bad[124] = 0x80                                 # base-256 size
    cases["base256"] = bad
    bad = bytearray(good)
    bad[5] = 0
    bad[6] = ord("Z")                               # hidden bytes after the name terminator
    cases["name"] = bad
    for what, b in cases.items():
        if what != "checksum":
            b[148:156] = b" " * 8
            b[148:156] = b"%06o\0 " % sum(b[:512])
        with pytest.raises(ImageError):
            archive.scan(bytes(b))
    with pytest.raises(ImageError, match="after the archive end"):
        archive.scan(good + b"\0" * 511 + b"\1")
    with pytest.raises(ImageError, match="padding"):
        b = bytearray(good)
        b[512 + len(ENTRIES[0][1])] = 1
        archive.scan(bytes(b))


def test_truncation_at_every_offset_is_refused():
    data = tarball.write(ENTRIES)
    for n in range(len(data)):
        with pytest.raises(ImageError):
            archive.scan(data[:n])


def test_writer_refuses_what_the_reader_would():
    for bad in ("/abs", "a/../b", "a//b", "", "x" * 300):
        with pytest.raises((ImageError, ValueError)):
            tarball.write([(bad, b"", 0o644)])
    with pytest.raises(ValueError):
        tarball.write([("a", b"", 0o644), ("a", b"", 0o644)])
