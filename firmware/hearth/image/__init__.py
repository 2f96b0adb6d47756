"""Hearth firmware images: the MCUboot container and the bundle archive inside it.

Device and host share this package: the launcher (hearth.boot) verifies images
with it before a slot is ever marked for trial, and the host tool
(`hearth image info|verify`) reads images with exactly the same code.

    mcuboot   header + protected/unprotected TLVs, digest, ED25519 signature
    archive   strict reader for the deterministic ustar payload
    manifest  the bundle manifest and the device compatibility checks
    errors    ImageError: one exception, a stable short code and a message
"""
from .errors import ImageError

__all__ = ["ImageError"]
