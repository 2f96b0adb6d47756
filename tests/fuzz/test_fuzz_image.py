"""Hypothesis-driven fuzzing of the image and archive parsers.

The parsers face untrusted bytes from the network and the console, so for
any input they either accept or raise ImageError (a clean refusal), never
anything else; the streaming parser decides exactly like the whole-buffer
one; and whenever the archive reader accepts, Python's tarfile reads the same
files with the same bytes. Inputs are random bytes and mutations (flips,
splices, truncations, length-field edits) of real signed images and archives.

HEARTH_FUZZ_EXAMPLES raises the example count for a longer campaign.
"""
import io
import os
import struct
import tarfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hearth.boot.device import load_board
from hearth.boot.launcher import Launcher, init
from simdisk import SimStorage
from hearth.boot.state import StateError
from hearth.image import archive, manifest, mcuboot
from hearth.image.errors import ImageError
from hearth_tools.image import tarball
from hearth_tools.testing import testkit

EXAMPLES = int(os.environ.get("HEARTH_FUZZ_EXAMPLES", "250"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    key = testkit.keygen(str(d / "key.pem"))
    board = testkit.write_board(str(d), slot_bytes=64 * 1024)
    image = testkit.small_image(key, board, "1.0.0", 1, files={"app.py": testkit.APP, "a/b.txt": b"hello\n"})
    st_ = SimStorage()
    init(st_, load_board(board), [("key.pem", open(key, "rb").read())])
    launcher = Launcher(st_)
    return {"image": image, "launcher": launcher,
            "archive": mcuboot.parse(image).payload(image),
            "keys": launcher.keys}


@st.composite
def mutated(draw, data):
    """Apply 1-4 structure-aware mutations to `data`."""
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "byte", "u16", "u32", "truncate", "insert", "delete", "extend"]))
        if not b:
            b += draw(st.binary(min_size=1, max_size=64))
            continue
        # half the time aim at the structure: header, TLV tail, or a 512-byte boundary
        pos = draw(st.one_of(
            st.integers(0, len(b) - 1),
            st.integers(0, min(len(b), 48) - 1),
            st.integers(max(0, len(b) - 200), len(b) - 1),
            st.integers(0, max(0, len(b) // 512 - 1)).map(lambda k: k * 512 + 124)))
        pos = min(pos, len(b) - 1)
        if op == "flip":
            b[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte":
            b[pos] = draw(st.integers(0, 255))
        elif op == "u16" and pos + 2 <= len(b):
            struct.pack_into("<H", b, pos, draw(st.sampled_from([0, 1, 4, 0x6907, 0x6908, 0xFFFF])))
        elif op == "u32" and pos + 4 <= len(b):
            struct.pack_into("<I", b, pos, draw(st.sampled_from([0, 0x7FFFFFFF, 0xFFFFFFFF, 512, 32])))
        elif op == "truncate":
            del b[pos:]
        elif op == "insert":
            b[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del b[pos:pos + draw(st.integers(1, 16))]
        else:
            b += draw(st.binary(min_size=1, max_size=600))
    return bytes(b)


def outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except ImageError as e:
        return ("refused", e.code)


@SETTINGS
@given(data=st.binary(max_size=2048))
def test_random_bytes_are_refused_cleanly(corpus, data):
    assert outcome(mcuboot.parse, data)[0] == "refused" or len(data) >= 32
    outcome(archive.scan, data)
    outcome(manifest.load, data)


@SETTINGS
@given(data=st.data())
def test_mutated_images(corpus, data):
    image = corpus["image"]
    bad = data.draw(mutated(image))
    whole = outcome(mcuboot.parse, bad)
    # the streaming parser, fed in random chunks, decides the same
    p = mcuboot.ImageParser()
    sizes = data.draw(st.lists(st.integers(1, 700), min_size=1, max_size=8))
    try:
        i = 0
        k = 0
        while i < len(bad):
            n = sizes[k % len(sizes)]
            p.feed(bad[i:i + n])
            i += n
            k += 1
        streamed = ("ok", p.finish())
    except ImageError as e:
        streamed = ("refused", e.code)
    assert whole[0] == streamed[0]
    if whole[0] == "refused":
        assert whole[1] == streamed[1]
    # the whole device check: a clean refusal, or the original bytes
    try:
        v = corpus["launcher"].check_bytes(bad, 0)
    except (ImageError, StateError):
        return
    img = v.img
    assert bad[:img.hdr_size + img.img_size + img.prot_size] == image[:img.hdr_size + img.img_size + img.prot_size]


@SETTINGS
@given(data=st.data())
def test_mutated_archives(corpus, data):
    bad = data.draw(mutated(corpus["archive"]))
    try:
        entries = archive.scan(bad)
    except ImageError:
        return
    # accepted: every path is clean and in bounds, and tarfile reads the same files
    ours = {}
    for e in entries:
        archive.check_path(e.path)
        assert 0 <= e.offset and e.offset + e.size <= len(bad)
        if e.kind == archive.REGULAR:
            ours[e.path] = bad[e.offset:e.offset + e.size]
    with tarfile.open(fileobj=io.BytesIO(bad), mode="r:") as tf:
        theirs = {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isreg()}
    assert ours == theirs


@SETTINGS
@given(entries=st.lists(st.tuples(
    st.lists(st.text("abcXYZ_.-09", min_size=1, max_size=12).filter(lambda s: s not in (".", "..")),
             min_size=1, max_size=4).map("/".join),
    st.binary(max_size=700), st.sampled_from([0o644, 0o755])), max_size=6, unique_by=lambda e: e[0]))
def test_writer_reader_roundtrip(entries):
    try:
        data = tarball.write(entries)
    except ImageError:
        return                                       # a path the reader would refuse too
    try:
        got = archive.files(data)
    except ImageError as e:
        assert e.code == "archive" and "both a file and a directory" in str(e)
        return
    assert got == {p: c for p, c, _ in entries}


@SETTINGS
@given(doc=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                        max_leaves=20))
def test_manifest_loader(doc):
    import json
    outcome(manifest.load, json.dumps(doc).encode())
    if isinstance(doc, dict):
        base = {"format": 1, "board": "b", "arch": "x86_64", "version": "1.0.0", "security_counter": 1,
                "min_launcher_version": "1.0.0", "rollback_target": None, "entry": "app", "files": {}}
        base.update(doc)
        outcome(manifest.load, json.dumps(base).encode())
