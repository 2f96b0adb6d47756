"""Hostile patches: every refusal is a DeltaError with a specific code, nothing
else escapes, nothing is written to the active slot and the inactive slot is
recorded empty."""
import hashlib
import io
import lzma
import random

import pytest

from hearth import delta as D
from hearth.boot import state as S
from hearth.boot.device import load_board
from hearth.boot.launcher import DELTA_DIR, Launcher, init
from simdisk import SimStorage
from hearth.delta import format as F
from hearth.delta.slot import StorageOutput
from hearth_tools import delta
from hearth_tools.delta import ops as O
from hearth_tools.testing import delta_pairs as testpairs
from hearth_tools.testing import testkit

SEED = 424242


class Sink:
    def __init__(self):
        self.buf = bytearray()

    def write(self, b):
        self.buf += b


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    key = testkit.keygen(str(d / "key.pem"))
    board = testkit.write_board(str(d), slot_bytes=64 * 1024)
    v1, v2 = testpairs.small_pair(key, board)
    return {"key": key, "board": load_board(board), "v1": v1, "v2": v2,
            "patch": delta.create(v1, v2, segment_size=2048)}


def apply(base, patch, **kw):
    out = Sink()
    D.apply(base, io.BytesIO(patch), out, **kw)
    return bytes(out.buf)


def code_of(base, patch, **kw):
    with pytest.raises(D.DeltaError) as e:
        apply(base, patch, **kw)
    return e.value.code


def crafted(base, new, segments, digest_at=0, kind=F.KIND_PLAIN, base_sha=None):
    """A patch with a correct header around hand-made segments."""
    head = F.pack_header(kind, len(base), base_sha or hashlib.sha256(base).digest(), len(new),
                         hashlib.sha256(new).digest(), digest_at, len(segments))
    return head + b"".join(segments)


def stream_seg(ops_raw, out_len, base_off=0, base_len=0, codec=F.C_STORED, body=None, crc=0):
    body = ops_raw if body is None else body
    return F.pack_segment(F.M_STREAM, codec, len(body), out_len, base_off, base_len, crc) + body


def test_the_patch_has_several_segments(env):
    assert D.read_header(io.BytesIO(env["patch"])).segments >= 3
    assert apply(env["v1"], env["patch"]) == env["v2"]


def test_truncated_at_every_offset(env):
    p = env["patch"]
    for k in range(len(p)):
        assert code_of(env["v1"], p[:k]) == "truncated", "cut at byte %d of %d" % (k, len(p))


def test_trailing_bytes_are_refused(env):
    assert code_of(env["v1"], env["patch"] + b"\0") == "trailing-data"


def test_every_bit_flip_is_refused_or_harmless(env):
    p, v1, v2 = env["patch"], env["v1"], env["v2"]
    refused = 0
    for i in range(len(p)):
        for bit in range(8):
            bad = bytearray(p)
            bad[i] ^= 1 << bit
            try:
                got = apply(v1, bytes(bad))
            except D.DeltaError:
                refused += 1
                continue
            assert got == v2, "flip at byte %d bit %d made a different result" % (i, bit)
    # a flip may pass only when the result is still exactly right (e.g. in a zstd
    # frame field the decoder does not need); nearly all are refused
    assert refused >= 0.99 * 8 * len(p), refused


def test_wrong_base_is_refused(env):
    assert code_of(env["v2"], env["patch"]) == "base-mismatch"
    assert code_of(env["v1"][:-1], env["patch"]) == "base-mismatch"


def test_base_digest_matches_but_content_does_not(env):
    """A patch made against another base, relabelled with the real base's size and
    SHA-256: the segment checksums catch it."""
    other = bytearray(env["v1"])
    for i in range(0, len(other), 50):       # every copy or dictionary of 50+ bytes sees a change
        other[i] ^= 0x5A
    p = bytearray(delta.create(bytes(other), env["v2"], segment_size=2048))
    h = D.read_header(io.BytesIO(bytes(p)))
    relabelled = F.pack_header(h.kind, len(env["v1"]), hashlib.sha256(env["v1"]).digest(), h.result_size,
                               h.result_sha256, h.digest_at, h.segments)
    p[:F.HEADER_SIZE] = relabelled
    assert code_of(env["v1"], bytes(p)) in ("segment-crc", "result-mismatch")


def test_offsets_and_lengths_past_either_file():
    base, new = b"B" * 100, b"B" * 10
    copy_past = bytes([F.OP_COPY]) + F.varint(F.zigzag(95)) + F.varint(10)
    assert code_of(base, crafted(base, new, [stream_seg(copy_past, 10, 0, 100)])) == "out-of-range"
    # the window itself past the base
    assert code_of(base, crafted(base, new, [stream_seg(copy_past, 10, 50, 60)])) == "out-of-range"
    # an instruction longer than the segment's output
    long_lit = bytes([F.OP_LITERAL]) + F.varint(11) + b"B" * 11
    assert code_of(base, crafted(base, new, [stream_seg(long_lit, 10)])) == "out-of-range"
    # a segment past the declared result
    lit = bytes([F.OP_LITERAL]) + F.varint(10) + b"B" * 10
    import zlib
    first = stream_seg(lit, 10, crc=zlib.crc32(new))
    assert code_of(base, crafted(base, new, [first, stream_seg(lit, 10)])) == "out-of-range"
    assert code_of(base, crafted(base, new[:5], [stream_seg(lit, 10)])) == "out-of-range"
    # a negative seek before the window
    back = bytes([F.OP_COPY]) + F.varint(F.zigzag(-5)) + F.varint(3)
    assert code_of(base, crafted(base, b"BBB", [stream_seg(back, 3, 0, 100)])) == "out-of-range"
    # lengths in the header past the limits
    for raw in (F.pack_segment(F.M_STREAM, F.C_STORED, 0, F.MAX_SEGMENT_OUT + 1, 0, 0, 0),
                F.pack_segment(F.M_ZDICT, F.C_ZSTD, 0, 10, 0, F.MAX_ZDICT + 1, 0),
                F.pack_segment(7, F.C_STORED, 0, 10, 0, 0, 0)):
        assert code_of(base, crafted(base, new, [raw])) in ("bad-segment", "out-of-range")


def test_result_larger_than_the_slot(env):
    assert code_of(env["v1"], env["patch"], max_result=len(env["v2"]) - 1) == "result-too-big"


def test_lzma_bomb_stops_at_the_declared_output():
    """100 MiB of literal zeros in a 15 KiB body, declared as 1000 bytes."""
    raw = bytes([F.OP_LITERAL]) + F.varint(100 << 20) + bytes(100 << 20)
    body = lzma.compress(raw, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": F.LZMA_DICT}])
    assert len(body) < 64 << 10
    new = bytes(1000)
    assert code_of(b"", crafted(b"", new, [stream_seg(None, 1000, codec=F.C_LZMA, body=body)])) == "out-of-range"
    # and a body whose instructions are right but that goes on decoding
    raw = bytes([F.OP_LITERAL]) + F.varint(1000) + bytes(1000) + bytes(50 << 20)
    body = lzma.compress(raw, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": F.LZMA_DICT}])
    import zlib
    seg = stream_seg(None, 1000, codec=F.C_LZMA, body=body, crc=zlib.crc32(new))
    assert code_of(b"", crafted(b"", new, [seg])) == "overrun"


def test_zstd_bombs_and_windows():
    import zlib
    import zstandard
    new = bytes(1000)
    frame = zstandard.ZstdCompressor(level=3).compress(bytes(64 << 20))
    seg = F.pack_segment(F.M_ZDICT, F.C_ZSTD, len(frame), 1000, 0, 0, zlib.crc32(new)) + frame
    assert code_of(b"", crafted(b"", new, [seg])) in ("overrun", "window-too-big")
    c = zstandard.ZstdCompressor(compression_params=zstandard.ZstdCompressionParameters(
        window_log=27, compression_level=3, write_content_size=False)).compressobj()
    big_window = c.compress(new) + c.flush()          # declares a 128 MiB window
    seg = F.pack_segment(F.M_ZDICT, F.C_ZSTD, len(big_window), 1000, 0, 0, zlib.crc32(new)) + big_window
    assert code_of(b"", crafted(b"", new, [seg])) == "window-too-big"


def test_random_mutations_raise_only_delta_errors(env):
    """Seeded mutations of real patches (the fuzz target's contract, without atheris)."""
    from fuzz.fuzz_delta import check_one, seed_inputs
    rng = random.Random(SEED)
    seeds = seed_inputs()
    for n in range(3000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 4)):
            what = rng.randrange(3)
            if what == 0 and data:
                data[rng.randrange(len(data))] = rng.getrandbits(8)
            elif what == 1:
                at = rng.randrange(len(data) + 1)
                data[at:at] = rng.randbytes(rng.randrange(1, 16))
            elif data:
                at = rng.randrange(len(data))
                del data[at:at + rng.randrange(1, 64)]
        check_one(bytes(data))          # raises AssertionError or a non-DeltaError on a bug (seed %d)


# -- through the launcher ---------------------------------------------------
def _device(env):
    st = SimStorage()
    init(st, env["board"], [("key.pem", open(env["key"], "rb").read())])
    L = Launcher(st)
    L.install(env["v1"])
    L.materialize(L.select())
    L.confirm()
    L.install(env["v1"])            # the inactive slot holds something too (a pending trial)
    return st, L


def _check_refused(st, L, patch, before_active):
    with pytest.raises(D.DeltaError) as e:
        L.install_delta(io.BytesIO(patch))
    assert st.read(S.slot_file("a")) == before_active
    state = S.load_state(st)[0]
    assert state["active"] == "a" and state["slots"]["b"] is None and state["trial"] is None
    return e.value.code


def test_launcher_refuses_a_patch_for_another_base_before_writing(env):
    st, L = _device(env)
    other = delta.create(env["v2"], env["v1"])
    ops = st.op_count
    with pytest.raises(D.DeltaError) as e:
        L.install_delta(io.BytesIO(other))
    assert e.value.code == "base-mismatch" and st.op_count == ops      # not one write
    assert S.load_state(st)[0]["slots"]["b"] is not None              # nothing changed at all


def test_launcher_hostile_patches(env):
    st, L = _device(env)
    active = st.read(S.slot_file("a"))
    p = env["patch"]
    rng = random.Random(SEED)
    codes = set()
    bad = []
    for k in sorted(rng.sample(range(F.HEADER_SIZE + 1, len(p)), 12)):
        bad.append(p[:k])
    for _ in range(12):
        b = bytearray(p)
        b[rng.randrange(F.HEADER_SIZE, len(p))] ^= 1 << rng.randrange(8)
        bad.append(bytes(b))
    for patch in bad:
        codes.add(_check_refused(st, L, patch, active))
        if st.exists(DELTA_DIR + "/progress.json"):
            L._discard_delta(StorageOutput(st, DELTA_DIR))
    assert "truncated" in codes and len(codes) >= 2
    st2, _L2 = _device(env)
    small = Launcher(st2)
    small.device["slot_bytes"] = len(env["v2"]) - 1
    ops = st2.op_count
    with pytest.raises(D.DeltaError) as e:
        small.install_delta(io.BytesIO(p))
    assert e.value.code == "result-too-big" and st2.op_count == ops     # known from the header: nothing written


def test_fuzz_target_runs_instrumented(tmp_path):
    """The atheris target itself, briefly (the long run is the fuzz registry's)."""
    import os
    import subprocess
    import sys
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    from fuzz.fuzz_delta import delta_seeds
    delta_seeds(str(corpus), str(tmp_path))
    script = os.path.join(os.path.dirname(__file__), "fuzz", "fuzz_delta.py")
    r = subprocess.run([sys.executable, script, "-runs=3000", "-seed=%d" % SEED, "-max_len=16384", str(corpus)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    cov = [int(line.split("cov: ")[1].split()[0]) for line in r.stderr.splitlines() if " cov: " in line]
    assert cov and max(cov) > 100, r.stderr[-2000:]


def test_an_installed_delta_is_not_reported_failed_when_cleanup_fails(env):
    """boot/delta/ cannot be removed (EIO) after the result was installed: the
    install stands and is reported; the leftovers are harmless."""
    import errno
    st, L = _device(env)
    st.fail("remove", None, errno.EIO, name=DELTA_DIR)
    r = L.install_delta(io.BytesIO(env["patch"]))
    assert r["slot"] == "b" and st.read(S.slot_file("b")) == env["v2"]
    assert S.load_state(st)[0]["trial"] == "b"
