"""Hostile images offered to a device running a confirmed image: each one is
refused with its own reason, and the running slot, the state record and the
next boot are exactly as before."""
import io
import struct
import tarfile

import pytest
from cryptography.hazmat.primitives import serialization

from hearth.boot import state as S
from hearth.boot.device import load_board
from hearth.boot.launcher import Launcher, init
from simdisk import SimStorage
from hearth.boot.storage import DirStorage
from hearth.image import mcuboot
from hearth.image.errors import ImageError
from hearth_tools.testing import testkit

SLOT = 64 * 1024


class Env:
    pass


def _tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for m, data in members:
            tf.addfile(m, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _member(name, data=b"", kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = link
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, (data if kind == tarfile.REGTYPE else None)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    e = Env()
    e.dir = d
    e.key = testkit.keygen(str(d / "key.pem"))
    e.other = testkit.keygen(str(d / "other.pem"))
    e.board_path = testkit.write_board(str(d), slot_bytes=SLOT)
    e.board = load_board(e.board_path)
    e.priv = serialization.load_pem_private_key(open(e.key, "rb").read(), None)
    e.v1 = testkit.small_image(e.key, e.board_path, "1.0.0", 1)
    e.v2 = testkit.small_image(e.key, e.board_path, "1.1.0", 2)
    good_manifest = mcuboot.parse(e.v1)
    payload = good_manifest.payload(e.v1)
    man_entry = (tarfile.TarInfo("manifest.json"), payload[512:512 + int(payload[124:135], 8)])
    man_entry[0].size = len(man_entry[1])

    def archive_image(members, first=True):
        return testkit.sign_payload(_tar(([man_entry] if first else []) + members), e.key, e.board_path, "1.0.0", 3)

    d2 = d / "big"
    d2.mkdir()
    big_board = testkit.write_board(str(d2), slot_bytes=SLOT * 4)
    other_board = testkit.write_board(str(d2), name="otherboard")
    arm_board = testkit.write_board(str(d2), arch="aarch64")
    body, prot = testkit.split(e.v2)
    tot = struct.unpack_from("<H", e.v2, len(e.v2) - 144 + 2)[0]
    assert tot == 144
    e.cases = {
        "wrong key": (testkit.small_image(e.other, e.board_path, "1.1.0", 2), "unknown-key"),
        "bad signature": (e.v2[:-1] + bytes([e.v2[-1] ^ 1]), "bad-signature"),
        "digest mismatch": (e.v2[:600] + bytes([e.v2[600] ^ 1]) + e.v2[601:], "digest-mismatch"),
        "truncated": (e.v2[:len(e.v2) // 2], "truncated"),
        "bigger than the slot": (testkit.small_image(e.key, big_board, "1.1.0", 2, files={
            "app.py": testkit.APP, "blob.bin": bytes(range(256)) * 400}), "too-big"),
        "wrong board": (testkit.small_image(e.key, other_board, "1.1.0", 2), "wrong-board"),
        "wrong architecture": (testkit.small_image(e.key, arm_board, "1.1.0", 2), "wrong-arch"),
        "security counter below stored": (testkit.small_image(e.key, e.board_path, "1.1.0", 0), "security-counter"),
        "launcher too old": (testkit.small_image(e.key, e.board_path, "1.1.0", 2, min_launcher_version="9.0.0"),
                             "launcher-too-old"),
        "duplicated protected TLV": (testkit.resign(e.priv, body, prot + [(mcuboot.TLV_SEC_CNT, struct.pack("<I", 99))]),
                                     "duplicate-tlv"),
        "duplicated unprotected TLV": (testkit.resign(e.priv, body, prot, extra_unprot=[(mcuboot.TLV_KEYHASH, bytes(32))]),
                                       "duplicate-tlv"),
        "malformed TLV": (testkit.resign(e.priv, body, prot, extra_unprot=[(0x10, b"short")]), "bad-tlv"),
        "unknown TLV": (testkit.resign(e.priv, body, prot + [(0x00FF, b"?")]), "unknown-tlv"),
        "flags": (testkit.resign(e.priv, body[:16] + struct.pack("<I", 8) + body[20:], prot), "unsupported-flags"),
        "absolute path": (archive_image([_member("/etc/passwd", b"x")]), "unsafe-path"),
        "dot-dot": (archive_image([_member("hearth/../../../etc/passwd", b"x")]), "unsafe-path"),
        "symlink": (archive_image([_member("hearth/evil", kind=tarfile.SYMTYPE, link="/etc/shadow")]), "archive-link"),
        "hard link": (archive_image([_member("hearth/evil", kind=tarfile.LNKTYPE, link="manifest.json")]),
                      "archive-link"),
        "device": (archive_image([_member("hearth/mem", kind=tarfile.CHRTYPE)]), "archive-type"),
        "no manifest": (archive_image([_member("app.py", b"x")], first=False), "manifest"),
        "file missing from manifest": (archive_image([_member("extra.py", b"x")]), "manifest"),
        "manifest is for another image": (archive_image([_member("app.py", b"x")]), "manifest"),
        "not an image": (b"\x7fELF" + bytes(100), "bad-magic"),
        "empty": (b"", "truncated"),
    }
    return e


def running_device(env, st):
    init(st, env.board, [("key.pem", open(env.key, "rb").read())])
    L = Launcher(st)
    for image in (env.v1, env.v2):          # 1.0.0 in slot a, 1.1.0 running from slot b
        L.install(image)
        L.materialize(L.select())
        L.confirm()
    return L


def snapshot(st):
    return {n: st.read(n) for n in S.STATE_COPIES + (S.CONFIRMED, S.slot_file("a"), S.slot_file("b"), S.DEVICE)}


def test_every_hostile_image_is_refused_and_the_running_slot_untouched(env, tmp_path):
    st = DirStorage(str(tmp_path / "st"))
    L = running_device(env, st)
    before = snapshot(st)
    seen = set()
    for name, (data, code) in env.cases.items():
        with pytest.raises(ImageError) as e:
            L.install(data)
        assert e.value.code == code, "%s: %s" % (name, e.value)
        assert snapshot(st) == before, name
        seen.add(code)
        d = L.select()
        assert (d.slot, d.trial, d.verified.version) == ("b", False, "1.1.0"), name
    assert len(seen) >= 15
    assert L.status()["security_counter"] == 2


def test_oversized_header_is_refused_before_any_write(env):
    body, prot = testkit.split(env.v2)
    body[12:16] = struct.pack("<I", 10 * SLOT)          # img_size far beyond the slot
    st = SimStorage()
    init(st, env.board, [("key.pem", open(env.key, "rb").read())])
    ops = st.op_count
    with pytest.raises(ImageError) as e:
        Launcher(st).install(bytes(body[:4096]))
    assert e.value.code == "too-big"
    assert st.op_count == ops and not st.exists(S.INCOMING)


def test_truncated_at_every_offset(env):
    st = SimStorage()
    L = running_device(env, st)
    before = snapshot(st)
    for n in range(0, len(env.v1), 7):
        with pytest.raises(ImageError) as e:
            L.install(env.v1[:n], chunk=512)
        assert e.value.code == "truncated"
    assert snapshot(st) == before
    assert L.select().verified.version == "1.1.0"


def test_refusals_through_the_cli(env, tmp_path):
    import subprocess
    import sys
    st = DirStorage(str(tmp_path / "st"))
    running_device(env, st)
    for name in ("wrong key", "symlink", "security counter below stored"):
        data, code = env.cases[name]
        path = tmp_path / "bad.img"
        path.write_bytes(data)
        r = subprocess.run([sys.executable, "-m", "hearth.boot", "install", str(path), "--storage", st.root],
                           capture_output=True, text=True)
        assert r.returncode == 1 and ("refused: %s:" % code) in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
