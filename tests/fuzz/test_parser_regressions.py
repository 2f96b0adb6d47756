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
from input_seeds import MemStorage

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


# -- the device's other untrusted inputs and the host's reply parsing (fuzz_inputs.py) --
DEEP_JSON = b'{"record": ' + b"[" * 100000


# Found by boot_state: json.loads raised RecursionError on deep nesting, and
# it escaped the launcher's record readers (every boot reads them) instead of
# reading as a corrupt copy.
def test_launcher_records_refuse_deep_nesting():
    from hearth.boot import state as S
    st = MemStorage({S.STATE: DEEP_JSON, S.STATE_COPY: DEEP_JSON, S.CONFIRMED: DEEP_JSON, S.DEVICE: DEEP_JSON})
    got = S.read_state(st)
    assert got.state is None and not got.fresh
    assert all("corrupt" in why for why in got.problems) and len(got.problems) == 2
    assert S.load_confirmed(st) is None
    with pytest.raises(S.StateError) as e:
        S.load_device(st)
    assert e.value.code == "bad-device"


# Found by boot_state: a device record whose checksum holds but whose record is
# not an object ([1], "x") raised AttributeError out of load_device.
@pytest.mark.parametrize("record", [[1], "x", 3, None])
def test_device_record_that_is_not_an_object_is_refused(record):
    from hearth.boot import state as S
    st = MemStorage({S.DEVICE: S._wrap(record)})
    with pytest.raises(S.StateError) as e:
        S.load_device(st)
    assert e.value.code == "bad-device" and "re-run init" in str(e.value)


# Found by board_toml: tomllib recurses per nested array / inline table, so a
# deeply nested value raised RecursionError out of board.load.
@pytest.mark.parametrize("doc", [b"a = " + b"[" * 100000, b"a = " + b"{x = " * 100000])
def test_board_refuses_deep_nesting(doc, tmp_path):
    from hearth import board as B
    path = tmp_path / "deep.toml"
    path.write_bytes(doc)
    with pytest.raises(B.BoardError) as e:
        B.load(str(path))
    assert "invalid TOML" in str(e.value) and "nested too deeply" in str(e.value)


# Found by ota_record: the OTA client's state and config readers let the
# RecursionError out, so one corrupt ota/state.json stopped every update check.
def test_ota_records_read_deep_nesting_as_corrupt():
    from hearth.ota import record as R
    st = MemStorage({R.STATE: DEEP_JSON, R.CONFIG: DEEP_JSON})
    assert R.load_config(st) is None
    assert R.load_state(st) == {"history": []}
    out = R.record(st, "nothing")
    assert R.load_state(st)["last"] == out


# Found by device_reply: a device line starting with "{" and nested deeply
# raised RecursionError out of Console.call instead of ReplyError.
def test_host_refuses_a_deeply_nested_json_reply():
    from hearth_tools import device as D
    from hearth_tools.transport.base import Transport

    class Replay(Transport):
        description = "replay"

        def __init__(self, data):
            super().__init__(timeout=5.0)
            self.data, self.sent = data, []

        def _open(self):
            pass

        def _close(self):
            pass

        def _write(self, data):
            self.sent.append(data)

        def _read_some(self, timeout):
            if not self.sent:               # the reply comes after the command
                return b""
            data, self.data = self.data, b""
            return data

    con = D.Console(Replay(b'{"ok": ' + b"[" * 100000 + b"\r\nhearth> ").open())
    con._synced = True
    with pytest.raises(D.ReplyError) as e:
        con.call("status")
    assert "no JSON reply" in str(e.value)


# Found by ota_select: a release was judged by its first target's metadata
# only, so the target picked (by kind) could be halted, offered to nobody,
# below the security counter or need a newer launcher.
def _h(kind, compression=None, sc=1, launcher="1.0.0"):
    return {"board": "b", "arch": "x86_64", "version": "1.1.0", "security_counter": sc,
            "min_launcher_version": launcher, "kind": kind, "compression": compression}


OFFERED = {"rings": {"all": 100}, "halted": False}


@pytest.mark.parametrize("bad", [{"rollout": {"rings": {"all": 100}, "halted": True}},
                                 {"rollout": {"rings": {}, "halted": False}},
                                 {"hearth": _h("full", "xz", sc=0)},
                                 {"hearth": _h("full", "xz", launcher="9.0.0")}],
                         ids=["halted", "not-offered", "below-counter", "newer-launcher"])
def test_selection_judges_every_target_of_a_release(bad):
    from hearth.ota import select
    device = {"board": "b", "arch": "x86_64", "device_id": "dev-1", "ring": "all", "version": "1.0.0",
              "digest": None, "security_counter": 1, "launcher_version": "1.0.0", "kinds": {"full", "xz"}}
    xz = dict({"hearth": _h("full", "xz"), "rollout": OFFERED}, **bad)
    targets = {"b/1.1.0/full": {"hearth": _h("full"), "rollout": OFFERED}, "b/1.1.0/xz": xz}
    path, _h2, _why = select.choose(targets, device)
    assert path == "b/1.1.0/full"           # the xz target (preferred when sound) is not
    alone = {"b/1.1.0/xz": xz}
    assert select.choose(alone, device)[0] is None


# Found by ota_decompress (tests/fuzz/crashes/ota_decompress/zstd-content-size):
# zstandard checks a frame's declared content size only when the frame comes
# in one piece, so the reader (which feeds slices) accepted a frame that
# says 22451 bytes and holds none, which zstd itself refuses as corrupt.
@pytest.mark.parametrize("chunk", [1, 3, 1 << 16])
def test_zstd_frame_shorter_than_its_header_says_is_refused(chunk):
    import zstandard
    from hearth.ota.fetcher import DecompressError, DecompressingReader
    frame = bytes.fromhex("28b52ffd60b356010000")
    with pytest.raises(zstandard.ZstdError):
        zstandard.ZstdDecompressor().decompressobj().decompress(frame)
    with pytest.raises(DecompressError) as e:
        DecompressingReader(io.BytesIO(frame), "zstd", 1 << 20, chunk=chunk).read()
    assert "zstd" in str(e.value)
    good = zstandard.ZstdCompressor().compress(b"hearth " * 1000)
    assert DecompressingReader(io.BytesIO(good), "zstd", 1 << 20, chunk=chunk).read() == b"hearth " * 1000
