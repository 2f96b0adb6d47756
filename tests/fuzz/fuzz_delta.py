"""Coverage-guided (atheris/libFuzzer) target for the delta patch parser and applier.

    python tests/fuzz/fuzz_delta.py [libFuzzer flags] CORPUS_DIR...

The input is a patch. It is applied to the seed base whose SHA-256 the
header names (so mutations of the body reach the segment decoders), else to
the first seed base. The contract: the applier returns a result whose SHA-256
is the one the header declares, or refuses with DeltaError; any other
exception, or a broken invariant (AssertionError), is a crash. Only
hearth.delta is instrumented, so `cov:` counts edges of the applier.

For the registry in fuzz_targets.py: TARGET_ROW and delta_seeds(directory, work).
"""
import hashlib
import io
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_LIMIT = 1 << 20            # results above this are refused (keeps every run small)


def _pairs():
    """(base, new) seed pairs: plain edits, an empty base, a Hearth image update."""
    from hearth_tools.testing import delta_pairs as testpairs
    old, new = testpairs.synthetic(6000, 7, edits=12, insert=40)
    pairs = [(old, new), (b"", b"hello, world\n" * 20), (new, new[:3000] + new[3500:])]
    try:
        from hearth_tools.testing import testkit
        import tempfile
        d = tempfile.mkdtemp(prefix="fuzz-delta-")
        key = testkit.keygen(os.path.join(d, "key.pem"))
        board = testkit.write_board(d, slot_bytes=64 * 1024)
        from hearth_tools.testing.delta_pairs import small_pair
        pairs.append(small_pair(key, board))
    except (OSError, RuntimeError, ImportError):
        pass                                         # no imgtool: plain pairs only
    return pairs


_SEEDS = None


def _seeds():
    global _SEEDS
    if _SEEDS is None:
        from hearth_tools import delta
        pairs = _pairs()
        patches = []
        for old, new in pairs:
            patches.append(delta.create(old, new, segment_size=1024))
            patches.append(delta.create(old, new, structure=False))
        _SEEDS = ({hashlib.sha256(o).digest(): o for o, _n in pairs}, [o for o, _n in pairs], patches)
    return _SEEDS


def seed_inputs():
    return list(_seeds()[2])


def delta_seeds(directory, work):
    for i, p in enumerate(seed_inputs()):
        with open(os.path.join(directory, "patch%d.hdlt" % i), "wb") as f:
            f.write(p)


TARGET_ROW = {"name": "delta_patch", "kind": "python", "seeds": delta_seeds, "seconds": 30, "max_len": 16384,
              "what": "delta patch parser + streaming applier (hearth.delta)"}


def check_one(data):
    from hearth import delta as D
    by_sha, bases, _p = _seeds()
    base = bases[0]
    if len(data) >= D.HEADER_SIZE:
        base = by_sha.get(data[10:42], base)     # the header's base SHA-256
    from hearth.delta.io import HashSink
    out = HashSink()
    try:
        s = D.apply(base, io.BytesIO(data), out, max_result=_LIMIT)
    except D.DeltaError as e:
        assert e.code and str(e)
        return
    assert out.size == s.result_size and out.sha.hexdigest() == s.result_sha256


def main(argv):
    import atheris
    with atheris.instrument_imports(include=["hearth.delta"]):
        import hearth.delta  # noqa: F401
        import hearth.delta.applier  # noqa: F401
    _seeds()
    atheris.Setup(argv, check_one)
    atheris.Fuzz()


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(_HERE, ".."))
    main(sys.argv)
