"""One create or apply of a Python delta tool, in its own process (for `hearth bench delta`).

    python _delta_child.py TOOL create OLD NEW PATCH
    python _delta_child.py TOOL apply  OLD PATCH OUT
    python _delta_child.py TOOL idle

Run by path, not as part of hearth_tools, so the process holds only the
interpreter and the tool's own modules. `idle` imports exactly what `apply`
imports and stops: the baseline its peak RSS is compared with. Prints the
seconds the operation itself took (imports and start-up excluded).
"""
import sys
import time


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _detools():
    import detools
    return detools


def _hdiffpatch():
    import hdiffpatch
    return hdiffpatch


def _hearth_host():
    from hearth_tools import delta
    return delta


def _hearth_device():
    from hearth import delta
    return delta


def detools_create(old, new, patch):
    # the configuration the peer comparison names: bsdiff algorithm, sequential (streamable) patch, lzma
    _detools().create_patch_filenames(old, new, patch, compression="lzma", patch_type="sequential",
                                      algorithm="bsdiff")


def detools_apply(old, patch, out):
    _detools().apply_patch_filenames(old, patch, out)


def hdiffpatch_create(old, new, patch):
    h = _hdiffpatch()
    _write(patch, h.diff(_read(old), _read(new), h.Lzma2Config(level=9, window=23), validate=False))


def hdiffpatch_apply(old, patch, out):
    _write(out, _hdiffpatch().apply(_read(old), _read(patch)))


def hearth_create(old, new, patch):
    _write(patch, _hearth_host().create(_read(old), _read(new)))


def hearth_apply(old, patch, out):
    # the device's streaming applier: base and patch read as files, result written as a file
    _hearth_device().apply_file(old, patch, out)


IMPORTS = {"detools": _detools, "hdiffpatch": _hdiffpatch, "hearth": _hearth_device}


def main(argv):
    tool, mode, paths = argv[0], argv[1], argv[2:]
    if mode == "idle":
        IMPORTS[tool]()
        print("0")
        return 0
    fn = globals()["%s_%s" % (tool, mode)]
    (_hearth_host if (tool, mode) == ("hearth", "create") else IMPORTS[tool])()
    t0 = time.perf_counter()
    fn(*paths)
    print("%.6f" % (time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
