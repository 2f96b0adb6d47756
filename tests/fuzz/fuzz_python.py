"""Coverage-guided (atheris/libFuzzer) targets for the Python parsers.

    python tests/fuzz/fuzz_python.py TARGET [libFuzzer flags] CORPUS_DIR...

Each target takes raw untrusted bytes. The contract it checks: the parser
accepts, or refuses with ImageError (a clean one-line refusal); any other
exception, or a broken invariant (AssertionError), is a crash that libFuzzer
writes out as a reproducer. Only hearth.image is instrumented, so `cov:`
counts edges of our parsers, not of hashlib or tarfile.

A new parser gets a function here, an entry in TARGETS, and a row in
fuzz_targets.py (seeds, budget); its floor is then recorded in floors.json.
"""
import io
import os
import sys
import tarfile

import atheris

with atheris.instrument_imports(include=["hearth.image", "hearth.smp"]):
    from hearth.image import archive, manifest, mcuboot
    from hearth.image.errors import ImageError
    from hearth.smp import framing as smp_framing
    from hearth.smp import server as smp_server


def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except ImageError as e:
        return ("refused", e.code)


def _chunk_sizes(data):
    """A chunking derived from the input (so the seeds stay plain images).
    From the length only: seeds signed with another key chunk the same, so the
    seed coverage does not depend on the key of the run."""
    x = len(data) * 2654435761 | 1
    while True:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        yield 1 + x % 700


def _stream(data):
    p = mcuboot.ImageParser()
    sizes = _chunk_sizes(data)
    i = 0
    while i < len(data):
        n = next(sizes)
        p.feed(data[i:i + n])
        i += n
    return p.finish()


_KEYS = []


def _trusted_keys():
    path = os.environ.get("HEARTH_FUZZ_KEY")
    if path and not _KEYS:
        with open(path, "rb") as f:
            _KEYS.append(mcuboot.TrustedKey.from_pem(f.read(), "fuzz"))
    return _KEYS


def image_mcuboot(data):
    """MCUboot container: whole-buffer and streaming parse agree; a parsed
    image describes itself and its signature check refuses cleanly."""
    whole = _outcome(mcuboot.parse, data)
    streamed = _outcome(_stream, data)
    assert whole[0] == streamed[0], "whole %r vs streamed %r" % (whole, streamed)
    if whole[0] == "refused":
        assert whole[1] == streamed[1], "whole %r vs streamed %r" % (whole, streamed)
        return
    img = whole[1]
    _outcome(img.describe)
    if _trusted_keys():
        _outcome(mcuboot.verify_signature, img, _trusted_keys())


def image_archive(data):
    """Bundle archive: accepted entries are clean and in bounds, and Python's
    tarfile reads exactly the same files."""
    got = _outcome(archive.scan, data)
    if got[0] == "refused":
        return
    ours = {}
    for e in got[1]:
        archive.check_path(e.path)
        assert 0 <= e.offset and e.offset + e.size <= len(data), e
        if e.kind == archive.REGULAR:
            ours[e.path] = data[e.offset:e.offset + e.size]
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
        theirs = {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isreg()}
    assert ours == theirs, "archive reader and tarfile disagree"


def image_manifest(data):
    """Bundle manifest JSON: any document is loaded or refused cleanly."""
    _outcome(manifest.load, data)


_SMP = []


def _smp():
    """One SMP server with the groups that need no storage (OS, shell) and its console hook."""
    if not _SMP:
        from hearth.core.shell import Shell
        from hearth.smp.groups import os as os_group
        from hearth.smp.groups import shell as shell_group
        from hearth.smp.service import ConsoleSmp
        s = smp_server.Server()
        os_group.register(s, {"s": "Hearth"})
        sh = Shell()
        sh.add("echo", lambda args: (args, " ".join(args)), "", "echo")
        shell_group.register(s, sh)
        _SMP.append((s, ConsoleSmp(s)))
    return _SMP[0]


def _check_answers(data):
    """Framed answers: each decodes to one packet, an 8-byte header and a CBOR map."""
    import cbor2
    r = smp_framing.Reassembler(1 << 16)
    for line in data.split(b"\n"):
        if line:
            pkt = r.feed(line)
            if pkt is not None:
                assert len(pkt) >= 8 and isinstance(cbor2.loads(pkt[8:]), dict), pkt


def smp_frame(data):
    """SMP console lines (split at LF) through the frame hook, then the same
    bytes as one UDP packet: never an exception, every answer well formed."""
    server, hook = _smp()
    hook.frames.reset()
    for line in data.split(b"\n"):
        if line[:2] in (smp_framing.START, smp_framing.CONT):
            out = hook(line)
            if out:
                _check_answers(out)
    got = []
    server.handle(data, got.append)
    assert len(got) == 1 and len(got[0]) >= 8
    smp_server.decode_body(got[0][8:])


TARGETS = {f.__name__: f for f in (image_mcuboot, image_archive, image_manifest, smp_frame)}

# the device's other untrusted inputs and the host's reply parsing (fuzz_inputs.py)
from fuzz_inputs import TARGETS as _INPUT_TARGETS  # noqa: E402
TARGETS.update(_INPUT_TARGETS)

# the delta patch parser and streaming applier (fuzz_delta.py holds its seeds and contract)
with atheris.instrument_imports(include=["hearth.delta"]):
    import hearth.delta  # noqa: E402,F401
    import hearth.delta.applier  # noqa: E402,F401
import fuzz_delta  # noqa: E402


def delta_patch(data):
    """A patch applied to the seed base its header names: the declared result, or DeltaError."""
    fuzz_delta.check_one(data)


TARGETS["delta_patch"] = delta_patch


def main(argv):
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit("usage: fuzz_python.py {%s} [libFuzzer flags] CORPUS..." % ",".join(TARGETS))
    atheris.Setup([argv[0]] + argv[2:], TARGETS[argv[1]])
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
