"""Structure-aware ops for two Hearth images (MCUboot header + ustar bundle + TLVs).

The new image is walked region by region:
    MCUboot header          ADD against the old header (sizes and version change)
    each archive header     ADD against the header of the old entry with the same path
    each archive entry      COPY when the old image holds the same bytes (by path, then
                            by content), else bsdiff against the old entry of the same
                            path (or the same name elsewhere), else a literal
    padding, end marker     literal zeros
    TLV areas               ADD against the old areas; the SHA256 TLV value becomes a
                            DIGEST op (the applier hashes what it wrote)
Returns None when either file is not a Hearth image: the caller uses the plain path.
"""
import hashlib
import posixpath

from hearth.image import archive, mcuboot
from hearth.image.errors import ImageError

from . import match
from . import ops as O


class Layout:
    def __init__(self, data):
        self.data = data
        self.img = mcuboot.parse(data)
        self.payload_off = self.img.hdr_size
        payload = memoryview(data)[self.payload_off:self.payload_off + self.img.img_size]
        self.entries = archive.scan(payload)
        self.hashed_end = self.img.hdr_size + self.img.img_size + self.img.prot_size
        self.by_path = {e.path: e for e in self.entries}

    def entry_data(self, e):
        o = self.payload_off + e.offset
        return self.data[o:o + e.size]


def layout(data):
    try:
        return Layout(data)
    except (ImageError, ValueError, KeyError, IndexError):
        return None


def _same_size_delta(old, old_off, new, ops, zero_run=O.ZERO_RUNS[0]):
    """ADD of equal-length ranges, else a literal."""
    if len(old) == len(new) and new:
        O.add_op(0, bytes((b - a) & 0xFF for a, b in zip(old, new)), O.Shifted(ops, old_off), old, zero_run)
    elif new:
        ops.append(("L", bytes(new)))


def _zero_run(old, lo):
    """(offset, length) of the old archive's end marker and padding: zeros to copy from."""
    end = lo.payload_off + lo.img.img_size
    start = end
    while start > lo.payload_off and old[start - 1] == 0:
        start -= 1
    return (start, end - start)


def _zeros(new, start, end, pad_src, zeros, ops):
    """new[start:end] (padding, the end marker): copied from the old image's zeros."""
    gap = new[start:end]
    if not gap:
        return
    if any(gap):
        ops.append(("L", bytes(gap)))
        return
    n = len(gap)
    if pad_src is not None and pad_src[1] >= n:
        ops.append(("C", pad_src[0], n))
        return
    z_off, z_len = zeros
    if not z_len:
        ops.append(("L", bytes(gap)))
        return
    while n:
        k = min(n, z_len)
        ops.append(("C", z_off, k))
        n -= k


def image_ops(old, new, zero_run=O.ZERO_RUNS[0]):
    """(ops, digest_at, new Layout) or None when either is not a Hearth image."""
    lo, ln = layout(old), layout(new)
    if lo is None or ln is None:
        return None
    ops = []
    _same_size_delta(old[:lo.img.hdr_size], 0, new[:ln.img.hdr_size], ops)
    by_content = {}
    by_name = {}
    for e in lo.entries:
        if e.kind == archive.REGULAR:
            by_content.setdefault(hashlib.sha256(lo.entry_data(e)).digest(), e)
            by_name.setdefault(posixpath.basename(e.path), e)
    zeros = _zero_run(old, lo)
    pos = ln.payload_off
    pad_src = None                 # where the old image has the padding that follows the previous entry
    for e in ln.entries:
        hdr_at = ln.payload_off + e.offset - archive.BLOCK
        _zeros(new, pos, hdr_at, pad_src, zeros, ops)
        pad_src = None
        oe = lo.by_path.get(e.path) or (lo.entries[0] if lo.entries else None)
        if oe is not None:
            o_hdr = lo.payload_off + oe.offset - archive.BLOCK
            _same_size_delta(old[o_hdr:o_hdr + archive.BLOCK], o_hdr, new[hdr_at:hdr_at + archive.BLOCK], ops)
        else:
            ops.append(("L", new[hdr_at:hdr_at + archive.BLOCK]))
        data = ln.entry_data(e)
        pos = ln.payload_off + e.offset + e.size
        same = lo.by_path.get(e.path)
        if same is not None:
            end = lo.payload_off + same.offset + same.size
            pad_src = (end, -same.size % archive.BLOCK)
        if not data:
            continue
        if same is not None and same.kind == archive.REGULAR and lo.entry_data(same) == data:
            ops.append(("C", lo.payload_off + same.offset, e.size))
            continue
        twin = by_content.get(hashlib.sha256(data).digest())
        if twin is not None:
            ops.append(("C", lo.payload_off + twin.offset, e.size))
            continue
        ref = same if same is not None and same.kind == archive.REGULAR else by_name.get(posixpath.basename(e.path))
        if ref is not None and ref.size:
            ops += match.diff_ops(lo.entry_data(ref), data, lo.payload_off + ref.offset, zero_run)
        else:
            ops.append(("L", bytes(data)))
    tlv_at = ln.img.hdr_size + ln.img.img_size
    _zeros(new, pos, tlv_at, pad_src, zeros, ops)
    # TLVs: protected area, then the unprotected one with the digest derived
    o_tlv = lo.img.hdr_size + lo.img.img_size
    _same_size_delta(old[o_tlv:lo.hashed_end], o_tlv, new[tlv_at:ln.hashed_end], ops)
    digest_at = ln.hashed_end
    unprot = new[ln.hashed_end:ln.img.total_size]
    sha = ln.img.digest
    k = unprot.find(sha)
    o_unprot = old[lo.hashed_end:lo.img.total_size]
    if k >= 0:
        _same_size_delta(o_unprot[:k], lo.hashed_end, unprot[:k], ops)
        ops.append(("D",))
        rest = unprot[k + 32:]
        o_rest_at = lo.hashed_end + k + 32
        o_rest = old[o_rest_at:o_rest_at + len(rest)]
        _same_size_delta(o_rest, o_rest_at, rest, ops)
    else:
        digest_at = 0
        _same_size_delta(o_unprot, lo.hashed_end, unprot, ops)
    if ln.img.total_size < len(new):
        ops.append(("L", new[ln.img.total_size:]))
    return O.merged(ops), digest_at, ln
