"""The MCUboot container: our parser/verifier against imgtool (library and CLI),
and every malformed container refused with its own reason.

Hostile containers that must carry a valid signature (duplicated protected
TLVs, flags, ...) are re-signed here with a tiny reference signer; the first
test proves that signer reproduces imgtool's output byte for byte.
"""
import random
import struct
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from hearth.image import archive, mcuboot
from hearth.image.errors import ImageError
from hearth_tools.image import sign, tarball
from hearth_tools.testing import testkit


class Env:
    pass


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("format")
    e = Env()
    e.dir = d
    e.key = testkit.keygen(str(d / "key.pem"))
    e.other = testkit.keygen(str(d / "other.pem"))
    e.board = testkit.write_board(str(d), slot_bytes=64 * 1024)
    e.image = testkit.small_image(e.key, e.board, "1.2.3+7", 5)
    e.path = d / "img.bin"
    e.path.write_bytes(e.image)
    with open(e.key, "rb") as f:
        e.priv = serialization.load_pem_private_key(f.read(), None)
    e.trusted = [mcuboot.TrustedKey.from_pem(open(e.key, "rb").read(), "key")]
    return e


# -- the reference signer for crafted images lives in testkit -------------------
split = testkit.split


def resign(env, body, prot, key=None, **kw):
    return testkit.resign(key or env.priv, body, prot, **kw)


def imgtool_verify(env, data, key=None):
    from imgtool import image as imgmod, keys
    p = env.dir / "check.bin"
    p.write_bytes(data)
    return imgmod.Image.verify(str(p), keys.load(key or env.key))[0].name


# -- imgtool agreement --------------------------------------------------------
def test_reference_signer_reproduces_imgtool(env):
    body, prot = split(env.image)
    assert resign(env, body, prot) == env.image


def test_parse_agrees_with_imgtool(env):
    img = mcuboot.verify(env.image, env.trusted)
    from imgtool import image as imgmod, keys
    result, version, digest, _ = imgmod.Image.verify(str(env.path), keys.load(env.key))
    assert result.name == "OK"
    assert img.digest == digest
    assert img.version == (version[0], version[1], version[2], version[3]) == (1, 2, 3, 7)
    assert img.security_counter == 5 and img.board == "testboard"
    assert img.total_size == len(env.image) and img.hdr_size == sign.HEADER_SIZE


def test_images_from_the_imgtool_cli_verify(env):
    # our builder and `imgtool sign` on the same payload give the same bytes
    img = mcuboot.parse(env.image)
    payload = env.dir / "payload.tar"
    payload.write_bytes(img.payload(env.image))
    out = env.dir / "cli.img"
    subprocess.run(testkit.imgtool_cli() + [
        "sign", "-k", env.key, "--version", "1.2.3+7", "-H", "0x200", "--pad-header", "-S", str(64 * 1024),
        "--security-counter", "5", "--custom-tlv", "0xa0", "testboard", "--custom-tlv", "0xa1",
        img.arch, str(payload), str(out)], check=True, capture_output=True)
    assert out.read_bytes() == env.image
    # the full-public-key variant names its key by value: trusted only if it is ours
    full = env.dir / "full.img"
    for k, expect in ((env.key, None), (env.other, "unknown-key")):
        subprocess.run(testkit.imgtool_cli() + [
            "sign", "-k", k, "--version", "1.0.0", "-H", "0x200", "--pad-header", "-S", str(64 * 1024),
            "--security-counter", "1", "--public-key-format", "full", str(payload), str(full)],
            check=True, capture_output=True)
        if expect is None:
            assert mcuboot.TLV_PUBKEY in mcuboot.verify(full.read_bytes(), env.trusted).tlvs
        else:
            with pytest.raises(ImageError) as e:
                mcuboot.verify(full.read_bytes(), env.trusted)
            assert e.value.code == expect


# -- refusals -------------------------------------------------------------------
def test_wrong_key_and_bad_signature(env):
    other = [mcuboot.TrustedKey.from_pem(open(env.other, "rb").read(), "other")]
    with pytest.raises(ImageError) as e:
        mcuboot.verify(env.image, other)
    assert e.value.code == "unknown-key"
    assert imgtool_verify(env, env.image, env.other) != "OK"
    bad = bytearray(env.image)
    bad[-1] ^= 1                                     # last byte of the ED25519 TLV
    with pytest.raises(ImageError) as e:
        mcuboot.verify(bytes(bad), env.trusted)
    assert e.value.code == "bad-signature"
    assert imgtool_verify(env, bytes(bad)) == "INVALID_SIGNATURE"
    # a valid signature by an untrusted key that claims our key hash
    body, prot = split(env.image)
    forged = resign(env, body, prot, key=serialization.load_pem_private_key(open(env.other, "rb").read(), None),
                    keyhash_of=env.priv)
    with pytest.raises(ImageError) as e:
        mcuboot.verify(forged, env.trusted)
    assert e.value.code == "bad-signature"
    with pytest.raises(ImageError) as e:
        mcuboot.verify(env.image, [])
    assert e.value.code == "unknown-key"


def test_digest_mismatch(env):
    img = mcuboot.parse(env.image)
    for off in (0x1F, img.hdr_size + 3, img.hdr_size + img.img_size - 1, img.hdr_size + img.img_size + 8):
        bad = bytearray(env.image)
        bad[off] ^= 0x10
        with pytest.raises(ImageError) as e:
            mcuboot.verify(bytes(bad), env.trusted)
        assert e.value.code in ("digest-mismatch", "bad-header"), off
    bad = bytearray(env.image)
    bad[img.hdr_size + 100] ^= 1
    assert imgtool_verify(env, bytes(bad)) == "INVALID_HASH"


UNPROT = 4 + (4 + 32) + (4 + 32) + (4 + 64)      # info + SHA256 + KEYHASH + ED25519


def _sec(n):
    return (mcuboot.TLV_SEC_CNT, struct.pack("<I", n))


def crafted(env):
    """name -> (image bytes, expected code, what imgtool verify says or None)."""
    body, prot = split(env.image)
    out = {}

    def hdr(off, fmt, value):
        b = bytearray(body)
        struct.pack_into(fmt, b, off, value)
        return b

    out["bad magic"] = (resign(env, hdr(0, "<I", 0x12345678), prot), "bad-magic", "INVALID_MAGIC")
    out["encrypted flag"] = (resign(env, hdr(16, "<I", 0x4), prot), "unsupported-flags", None)
    out["compressed flag"] = (resign(env, hdr(16, "<I", 0x400), prot), "unsupported-flags", None)
    out["non-bootable"] = (resign(env, hdr(16, "<I", 0x10), prot), "unsupported-flags", None)
    out["header too small"] = (resign(env, hdr(8, "<H", 16), prot), "bad-header", None)
    out["ram load"] = (resign(env, hdr(4, "<I", 0x20000000), prot), "bad-header", None)
    out["dup SEC_CNT"] = (resign(env, body, prot + [_sec(9)]), "duplicate-tlv", "OK")
    out["dup board"] = (resign(env, body, prot + [(mcuboot.TLV_HEARTH_BOARD, b"sim")]), "duplicate-tlv", "OK")
    sha = env.image[-UNPROT + 8:][:32]
    out["dup SHA256 unprotected"] = (resign(env, body, prot, extra_unprot=[(mcuboot.TLV_SHA256, sha)]),
                                     "duplicate-tlv", "OK")
    out["SEC_CNT unprotected"] = (resign(env, body, [p for p in prot if p[0] != mcuboot.TLV_SEC_CNT],
                                         extra_unprot=[_sec(5)]), "bad-tlv", "OK")
    out["keyhash protected"] = (resign(env, body, prot + [(mcuboot.TLV_KEYHASH, bytes(32))]), "bad-tlv", "OK")
    out["no SEC_CNT"] = (resign(env, body, [p for p in prot if p[0] != mcuboot.TLV_SEC_CNT]), "missing-tlv", "OK")
    out["no protected area"] = (resign(env, body, []), "missing-tlv", "OK")
    out["unknown TLV"] = (resign(env, body, prot, extra_unprot=[(0x30, bytes(256))]), "unknown-tlv", "OK")
    out["vendor TLV"] = (resign(env, body, prot + [(0x1234, b"x")]), "unknown-tlv", "OK")
    out["SEC_CNT length"] = (resign(env, body, [p for p in prot if p[0] != mcuboot.TLV_SEC_CNT]
                                    + [(mcuboot.TLV_SEC_CNT, bytes(8))]), "bad-tlv", "OK")
    out["prot size disagrees"] = (resign(env, body, prot, prot_size=40), "bad-tlv-info", None)
    out["prot size tiny"] = (resign(env, body, prot, prot_size=2), "bad-tlv-info", None)
    out["no signature"] = (resign(env, body, prot, unprot=lambda d: [(mcuboot.TLV_SHA256, d),
                                                                      (mcuboot.TLV_KEYHASH, bytes(32))]),
                           "missing-tlv", None)
    out["no key named"] = (resign(env, body, prot, unprot=lambda d: [(mcuboot.TLV_SHA256, d),
                                                                      (mcuboot.TLV_ED25519, bytes(64))]),
                           "missing-tlv", None)
    good = resign(env, body, prot)
    b = bytearray(good)
    struct.pack_into("<H", b, len(good) - UNPROT + 2, 0x6000)   # TLV area total
    out["unprotected total too big"] = (bytes(b), "truncated", None)
    b = bytearray(good)
    struct.pack_into("<H", b, len(good) - UNPROT + 6, 0x200)             # SHA256 length overruns
    out["TLV overrun"] = (bytes(b), "bad-tlv", None)
    b = bytearray(good)
    struct.pack_into("<H", b, len(good) - UNPROT, 0x6666)       # unprotected magic
    out["bad TLV magic"] = (bytes(b), "bad-tlv-info", "INVALID_TLV_INFO_MAGIC")
    b = bytearray(good)
    struct.pack_into("<H", b, len(good) - UNPROT + 2, UNPROT + 2)
    out["TLV slack"] = (bytes(b) + b"\0\0", "bad-tlv", None)
    out["trailing data"] = (good + b"\xff" * 16, "trailing-data", "OK")
    return out


def test_malformed_containers_are_refused(env):
    cases = crafted(env)
    assert len(cases) >= 20
    for name, (data, code, imgtool_says) in cases.items():
        with pytest.raises(ImageError) as e:
            mcuboot.verify(data, env.trusted)
        assert e.value.code == code, "%s: %s" % (name, e.value)
        if imgtool_says is not None:
            # where imgtool accepts, we are deliberately stricter
            assert imgtool_verify(env, data) == imgtool_says, name


def test_truncated_at_every_offset(env):
    for n in range(len(env.image)):
        with pytest.raises(ImageError) as e:
            mcuboot.parse(env.image[:n])
        assert e.value.code == "truncated", n


def test_size_limit_is_checked_from_the_header(env):
    img = mcuboot.parse(env.image)
    p = mcuboot.ImageParser(max_size=len(env.image) - 1)
    with pytest.raises(ImageError) as e:
        p.feed(env.image[:img.hdr_size + img.img_size + img.prot_size + 4])
    assert e.value.code == "too-big"
    p = mcuboot.ImageParser(max_size=1000)
    with pytest.raises(ImageError) as e:
        p.feed(env.image[:32])                       # refused from the 32-byte header alone
    assert e.value.code == "too-big"
    assert mcuboot.parse(env.image, max_size=len(env.image)).total_size == len(env.image)


def test_streaming_in_any_chunking_equals_whole_parse(env):
    whole = mcuboot.parse(env.image)
    rng = random.Random(5)
    for _ in range(50):
        p = mcuboot.ImageParser()
        i = 0
        while i < len(env.image):
            n = rng.choice([1, 2, 3, 7, 31, 32, 33, 511, 4096])
            p.feed(env.image[i:i + n])
            i += n
        img = p.finish()
        assert (img.digest, img.tlvs, img.version) == (whole.digest, whole.tlvs, whole.version)


def test_describe(env):
    d = mcuboot.parse(env.image).describe()
    assert d["version"] == "1.2.3+7" and d["security_counter"] == 5
    assert [t["name"] for t in d["tlvs"]] == ["SEC_CNT", "HEARTH_BOARD", "HEARTH_ARCH", "SHA256", "KEYHASH", "ED25519"]


def test_payload_is_the_bundle_archive(env):
    img = mcuboot.parse(env.image)
    payload = img.payload(env.image)
    assert payload[:13] == b"manifest.json" and len(payload) % 512 == 0
    assert payload == tarball.write([(e.path, payload[e.offset:e.offset + e.size], e.mode)
                                     for e in archive.scan(payload)])
