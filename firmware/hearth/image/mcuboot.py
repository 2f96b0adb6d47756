"""MCUboot image container: parse, digest and ED25519 verification.

Layout (mcu-tools/mcuboot docs/design.md; written by `imgtool sign`):

    header (32 bytes, hdr_size in total)    magic 0x96f3b83d, sizes, flags, version
    payload (img_size bytes)                our deterministic bundle archive
    protected TLV area (prot_size bytes)    info 0x6908 + SEC_CNT, board, arch
    unprotected TLV area                    info 0x6907 + KEYHASH, SHA256, ED25519

The SHA256 TLV covers header + payload + protected area; the ED25519 TLV signs
that digest (imgtool's "hash-then-sign" variant, not --pure).

Every field is untrusted. The parser is incremental so the launcher can stream
an image into a slot without holding it in memory: `ImageParser.feed()` checks
the header as soon as 32 bytes arrived (size against the slot, flags), hashes
as bytes pass, keeps only the TLV tail, and `finish()` checks the TLV areas.
Anything unexpected is an ImageError with a stable code; nothing else escapes.
"""
import hashlib
import struct

from .errors import ImageError

IMAGE_MAGIC = 0x96F3B83D
HEADER_SIZE = 32
MAX_HEADER_SIZE = 4096          # imgtool's -H; we build with 0x200
TLV_INFO_MAGIC = 0x6907
TLV_PROT_INFO_MAGIC = 0x6908
TLV_INFO_SIZE = 4
TLV_HDR_SIZE = 4

TLV_KEYHASH = 0x01
TLV_PUBKEY = 0x02
TLV_SHA256 = 0x10
TLV_ED25519 = 0x24
TLV_SEC_CNT = 0x50
# Vendor range (0x00a0..0xfffe): Hearth's own protected TLVs.
TLV_HEARTH_BOARD = 0x00A0
TLV_HEARTH_ARCH = 0x00A1

PROTECTED = "protected"
UNPROTECTED = "unprotected"

# Which TLVs an image may carry, in which area, with which length. Anything
# else is refused: an allow-list is the only safe reading of a security
# container (MCUboot likewise refuses protected-only TLVs found unprotected).
#   type: (name, area, min length, max length)
TLV_RULES = {
    TLV_KEYHASH: ("KEYHASH", UNPROTECTED, 32, 32),      # sha256 of the DER public key
    TLV_PUBKEY: ("PUBKEY", UNPROTECTED, 1, 1024),       # full DER key (imgtool --public-key-format full)
    TLV_SHA256: ("SHA256", UNPROTECTED, 32, 32),
    TLV_ED25519: ("ED25519", UNPROTECTED, 64, 64),
    TLV_SEC_CNT: ("SEC_CNT", PROTECTED, 4, 4),
    TLV_HEARTH_BOARD: ("HEARTH_BOARD", PROTECTED, 1, 64),
    TLV_HEARTH_ARCH: ("HEARTH_ARCH", PROTECTED, 1, 16),
}
REQUIRED_TLVS = (TLV_SHA256, TLV_ED25519, TLV_SEC_CNT)

# Header flags (imgtool IMAGE_F). None of them is meaningful for a Linux
# slot: encrypted, compressed, RAM-load or non-bootable images are refused.
FLAG_NAMES = {
    0x01: "PIC", 0x04: "ENCRYPTED_AES128", 0x08: "ENCRYPTED_AES256", 0x10: "NON_BOOTABLE",
    0x20: "RAM_LOAD", 0x100: "ROM_FIXED", 0x200: "COMPRESSED_LZMA1", 0x400: "COMPRESSED_LZMA2",
    0x800: "COMPRESSED_ARM_THUMB",
}

_HDR = struct.Struct("<IIHHIIBBHII")


def format_version(v):
    """(major, minor, revision, build) -> "1.2.3" or "1.2.3+4"."""
    s = "%d.%d.%d" % v[:3]
    return s + ("+%d" % v[3] if v[3] else "")


class Image:
    """A parsed image. Offsets index the image bytes; digest is what we computed."""

    def __init__(self):
        self.hdr_size = 0
        self.img_size = 0
        self.prot_size = 0
        self.flags = 0
        self.load_addr = 0
        self.version = (0, 0, 0, 0)
        self.total_size = 0
        self.digest = b""
        self.tlvs = {}           # type -> bytes (types are unique)
        self.tlv_areas = {}      # type -> PROTECTED | UNPROTECTED

    @property
    def version_str(self):
        return format_version(self.version)

    @property
    def payload_offset(self):
        return self.hdr_size

    @property
    def payload_size(self):
        return self.img_size

    @property
    def security_counter(self):
        return struct.unpack("<I", self.tlvs[TLV_SEC_CNT])[0]

    def _text(self, t):
        raw = self.tlvs.get(t)
        if raw is None:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ImageError("bad-tlv", "TLV %s is not UTF-8" % TLV_RULES[t][0]) from None

    @property
    def board(self):
        return self._text(TLV_HEARTH_BOARD)

    @property
    def arch(self):
        return self._text(TLV_HEARTH_ARCH)

    @property
    def keyhash(self):
        return self.tlvs.get(TLV_KEYHASH)

    def payload(self, data):
        return data[self.hdr_size:self.hdr_size + self.img_size]

    def describe(self):
        """A JSON-friendly summary (hearth image info, launcher status)."""
        tlvs = []
        for t, v in self.tlvs.items():
            tlvs.append({"type": "0x%02x" % t, "name": TLV_RULES[t][0], "area": self.tlv_areas[t],
                         "len": len(v)})
        return {
            "version": self.version_str,
            "security_counter": self.security_counter,
            "header_size": self.hdr_size,
            "payload_size": self.img_size,
            "protected_tlv_size": self.prot_size,
            "total_size": self.total_size,
            "flags": self.flags,
            "sha256": self.digest.hex(),
            "key_hash": self.keyhash.hex() if self.keyhash else None,
            "board": self.board,
            "arch": self.arch,
            "tlvs": tlvs,
        }


class ImageParser:
    """Incremental parser: feed() bytes in any chunking, then finish().

    feed() raises as early as the bytes allow (bad header, too big for the slot,
    data past the end), so an installer that feeds before it writes never
    writes a byte of an image that is already known to be bad.
    """

    def __init__(self, max_size=None):
        self.max_size = max_size
        self._head = bytearray()
        self._img = None
        self._sha = hashlib.sha256()
        self._pos = 0
        self._hashed_end = None      # hdr + payload + protected area
        self._payload_end = None
        self._tail = bytearray()     # protected + unprotected TLV areas
        self._total = None

    @property
    def image(self):
        return self._img

    def feed(self, chunk):
        chunk = memoryview(chunk)
        if self._img is None:
            need = HEADER_SIZE - len(self._head)
            self._head += chunk[:need]
            if len(self._head) < HEADER_SIZE:
                self._account(chunk)
                return
            self._parse_header(bytes(self._head))
        self._account(chunk)

    def _account(self, chunk):
        start = self._pos
        end = start + len(chunk)
        if self._total is not None and end > self._total:
            raise ImageError("trailing-data", "%d bytes after the end of the image (%d bytes)"
                             % (end - self._total, self._total))
        if self.max_size is not None and end > self.max_size:
            raise ImageError("too-big", "image exceeds the slot (%d bytes)" % self.max_size)
        if self._hashed_end is None:
            self._sha.update(chunk)      # still inside the header
        else:
            h_end = min(end, self._hashed_end)
            if h_end > start:
                self._sha.update(chunk[:h_end - start])
            t_start = max(start, self._payload_end)
            if end > t_start:
                self._tail += chunk[t_start - start:]
                self._check_tail()
                if self._total is not None and end > self._total:
                    raise ImageError("trailing-data", "%d bytes after the end of the image (%d bytes)"
                                     % (end - self._total, self._total))
        self._pos = end

    def _parse_header(self, raw):
        img = Image()
        (magic, img.load_addr, img.hdr_size, img.prot_size, img.img_size, img.flags,
         major, minor, rev, build, _pad) = _HDR.unpack(raw)
        if magic != IMAGE_MAGIC:
            raise ImageError("bad-magic", "not an MCUboot image (magic 0x%08x)" % magic)
        if not HEADER_SIZE <= img.hdr_size <= MAX_HEADER_SIZE:
            raise ImageError("bad-header", "header size %d out of range" % img.hdr_size)
        if img.flags:
            names = [n for bit, n in sorted(FLAG_NAMES.items()) if img.flags & bit] or ["0x%x" % img.flags]
            raise ImageError("unsupported-flags", "unsupported image flags %s" % ",".join(names))
        if img.load_addr:
            raise ImageError("bad-header", "load address 0x%x set (RAM-load images are not supported)"
                             % img.load_addr)
        if img.prot_size and img.prot_size < TLV_INFO_SIZE:
            raise ImageError("bad-tlv-info", "protected TLV size %d is too small" % img.prot_size)
        img.version = (major, minor, rev, build)
        self._payload_end = img.hdr_size + img.img_size
        self._hashed_end = self._payload_end + img.prot_size
        least = self._hashed_end + TLV_INFO_SIZE
        if self.max_size is not None and least > self.max_size:
            raise ImageError("too-big", "image needs at least %d bytes, the slot holds %d"
                             % (least, self.max_size))
        self._img = img

    def _check_tail(self):
        if self._total is not None:
            return
        img = self._img
        off = img.prot_size
        if len(self._tail) < off + TLV_INFO_SIZE:
            return
        if img.prot_size:
            magic, tot = struct.unpack_from("<HH", self._tail, 0)
            if magic != TLV_PROT_INFO_MAGIC:
                raise ImageError("bad-tlv-info", "protected TLV area magic 0x%04x" % magic)
            if tot != img.prot_size:
                raise ImageError("bad-tlv-info", "protected TLV area says %d bytes, header says %d"
                                 % (tot, img.prot_size))
        magic, tot = struct.unpack_from("<HH", self._tail, off)
        if magic != TLV_INFO_MAGIC:
            raise ImageError("bad-tlv-info", "TLV area magic 0x%04x (expected 0x%04x)"
                             % (magic, TLV_INFO_MAGIC))
        if tot < TLV_INFO_SIZE:
            raise ImageError("bad-tlv-info", "TLV area size %d is too small" % tot)
        self._total = self._hashed_end + tot
        if self.max_size is not None and self._total > self.max_size:
            raise ImageError("too-big", "image is %d bytes, the slot holds %d"
                             % (self._total, self.max_size))

    def finish(self):
        """Check the TLV areas and return the Image (digest checked, signature not)."""
        img = self._img
        if img is None:
            raise ImageError("truncated", "image truncated in the header (%d of %d bytes)"
                             % (len(self._head), HEADER_SIZE))
        if self._total is None or self._pos < self._total:
            want = ("%d" % self._total) if self._total is not None else "at least %d" % (
                self._hashed_end + TLV_INFO_SIZE)
            raise ImageError("truncated", "image truncated: %d bytes, expected %s" % (self._pos, want))
        tail = bytes(self._tail)
        if img.prot_size:
            self._parse_tlvs(img, tail[:img.prot_size], PROTECTED)
        self._parse_tlvs(img, tail[img.prot_size:], UNPROTECTED)
        for t in REQUIRED_TLVS:
            if t not in img.tlvs:
                raise ImageError("missing-tlv", "image has no %s TLV" % TLV_RULES[t][0])
        if TLV_KEYHASH not in img.tlvs and TLV_PUBKEY not in img.tlvs:
            raise ImageError("missing-tlv", "image names no signing key (KEYHASH or PUBKEY TLV)")
        img.total_size = self._total
        img.digest = self._sha.digest()
        if img.digest != img.tlvs[TLV_SHA256]:
            raise ImageError("digest-mismatch", "SHA256 of the image does not match its SHA256 TLV")
        return img

    @staticmethod
    def _parse_tlvs(img, area, which):
        tot = len(area)
        off = TLV_INFO_SIZE
        while off < tot:
            if off + TLV_HDR_SIZE > tot:
                raise ImageError("bad-tlv", "truncated TLV header in the %s area" % which)
            t, n = struct.unpack_from("<HH", area, off)
            off += TLV_HDR_SIZE
            if off + n > tot:
                raise ImageError("bad-tlv", "TLV 0x%02x (%d bytes) overruns the %s area" % (t, n, which))
            rule = TLV_RULES.get(t)
            if rule is None:
                raise ImageError("unknown-tlv", "unknown TLV 0x%02x in the %s area" % (t, which))
            name, area_ok, lo, hi = rule
            if area_ok != which:
                raise ImageError("bad-tlv", "TLV %s must be in the %s area, found in the %s area"
                                 % (name, area_ok, which))
            if not lo <= n <= hi:
                raise ImageError("bad-tlv", "TLV %s has length %d" % (name, n))
            if t in img.tlvs:
                raise ImageError("duplicate-tlv", "duplicated TLV %s" % name)
            img.tlvs[t] = area[off:off + n]
            img.tlv_areas[t] = which
            off += n


def parse(data, max_size=None):
    """Parse and digest-check a whole image held in memory."""
    p = ImageParser(max_size=max_size)
    p.feed(data)
    return p.finish()


def parse_file(path, max_size=None, chunk=1 << 16):
    p = ImageParser(max_size=max_size)
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            p.feed(b)
    return p.finish()


class TrustedKey:
    """An ED25519 public key the device trusts (MCUboot's built-in key list)."""

    def __init__(self, der, name=""):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
        key = serialization.load_der_public_key(der)
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise ImageError("unsupported-key", "%s is not an ED25519 key" % (name or "key"))
        self._key = key
        self.der = der
        self.keyhash = hashlib.sha256(der).digest()
        self.name = name

    @classmethod
    def from_pem(cls, pem, name=""):
        """Accepts a public PEM or an (unencrypted) private PEM as imgtool keygen writes it."""
        from cryptography.hazmat.primitives import serialization
        try:
            if b"PRIVATE KEY" in pem:
                key = serialization.load_pem_private_key(pem, password=None).public_key()
            else:
                key = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError) as e:
            raise ImageError("bad-key", "cannot read key %s: %s" % (name or "", e)) from None
        der = key.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(der, name)

    def verify(self, signature, message):
        from cryptography.exceptions import InvalidSignature
        try:
            self._key.verify(signature, message)
            return True
        except InvalidSignature:
            return False


def verify_signature(img, trusted_keys):
    """Check the ED25519 signature over the image digest with a trusted key.

    The image only names its key (KEYHASH, or PUBKEY compared byte for byte);
    a key carried by the image is never trusted because it is carried.
    Returns the TrustedKey that signed.
    """
    if not trusted_keys:
        raise ImageError("unknown-key", "no trusted keys: provision a public key first")
    want_hash = img.tlvs.get(TLV_KEYHASH)
    want_der = img.tlvs.get(TLV_PUBKEY)
    for key in trusted_keys:
        if (want_hash is not None and key.keyhash == want_hash) or (
                want_der is not None and key.der == want_der):
            if key.verify(img.tlvs[TLV_ED25519], img.digest):
                return key
            raise ImageError("bad-signature", "ED25519 signature does not verify with key %s"
                             % (key.name or key.keyhash.hex()[:16]))
    named = want_hash.hex()[:16] if want_hash is not None else hashlib.sha256(want_der).hexdigest()[:16]
    raise ImageError("unknown-key", "image is signed by an untrusted key (key hash %s...)" % named)


def verify(data, trusted_keys, max_size=None):
    """Parse, digest-check and signature-check an image in memory."""
    img = parse(data, max_size=max_size)
    verify_signature(img, trusted_keys)
    return img
