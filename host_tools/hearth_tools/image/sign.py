"""Sign a payload as an MCUboot image through the imgtool package.

imgtool is the reference tool of the format: signing with its library (not
our own code) is what makes `imgtool verify` and MCUboot itself accept our
images. ED25519 only: the device verifies ED25519 (and signatures are
deterministic, so same payload + key = same image bytes).
"""
import contextlib
import io
import os
import tempfile

from hearth.image.mcuboot import TLV_HEARTH_ARCH, TLV_HEARTH_BOARD

HEADER_SIZE = 0x200       # room for the header; keeps the archive 512-byte aligned in the slot


class SignError(Exception):
    pass


def auto_security_counter(version):
    """imgtool's `--security-counter auto`: major << 24 | minor << 16 | revision."""
    return (version[0] << 24) | (version[1] << 16) | version[2]


def load_key(path):
    from imgtool import keys
    try:
        key = keys.load(path)
    except FileNotFoundError:
        raise SignError("key file %s not found (create one: imgtool keygen -t ed25519 -k %s)" % (path, path)) from None
    except Exception as e:        # imgtool raises bare Exceptions for unsupported keys
        raise SignError("cannot read key %s: %s" % (path, e)) from None
    if key is None:
        raise SignError("key %s is passphrase-protected; give an unencrypted key" % path)
    if not isinstance(key, keys.Ed25519):
        raise SignError("key %s is not an ED25519 private key (imgtool keygen -t ed25519)" % path)
    return key


def sign(payload, key_path, version, security_counter, board, arch, header_size=HEADER_SIZE):
    """Returns the signed image bytes. version: (major, minor, revision, build).

    The caller (build.py) checks the size against the slot, exactly, without
    the flash trailer imgtool would reserve."""
    import click
    from imgtool import image as imgmod
    from imgtool.version import decode_version
    key = load_key(key_path)
    vtext = "%d.%d.%d+%d" % version
    with tempfile.TemporaryDirectory(prefix="hearth-sign-") as tmp:
        src = os.path.join(tmp, "payload.bin")
        dst = os.path.join(tmp, "image.bin")
        with open(src, "wb") as f:
            f.write(payload)
        try:
            # slot_size=0: imgtool would reserve a flash swap trailer we do not use;
            # the builder checks the exact size against the slot itself
            img = imgmod.Image(version=decode_version(vtext), header_size=header_size, pad_header=True,
                               slot_size=0, security_counter=int(security_counter))
            img.load(src)
            # imgtool prints progress to stdout; ours is for data
            with contextlib.redirect_stdout(io.StringIO()):
                img.create(key, "hash", None,
                           custom_tlvs={TLV_HEARTH_BOARD: board.encode(), TLV_HEARTH_ARCH: arch.encode()})
            img.save(dst)
        except click.ClickException as e:
            raise SignError("imgtool: %s" % e.format_message()) from None
        with open(dst, "rb") as f:
            return f.read()
