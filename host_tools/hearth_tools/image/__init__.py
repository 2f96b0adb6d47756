"""Host side of Hearth images: bundle, deterministic archive, native build, signing.

    tarball   deterministic POSIX ustar writer (the device reads it with hearth.image.archive)
    native    the hearth._native cffi module for a board's architecture (cross-built, cached)
    bundle    what goes into a firmware bundle, and its manifest
    sign      MCUboot signing through the imgtool package
    build     build_image(): all of the above, the library behind `hearth image build`

Parsing and verification are the device's own code (hearth.image), imported here.
"""
