"""Delta updates on the device: apply a Hearth delta patch (docs/DELTA.md).

Stdlib (+ zstandard for zstd segments); nothing from the host tools.
"""
from .applier import Summary, apply, apply_file, check_base, header_id, read_header
from .errors import DeltaError
from .format import HEADER_SIZE, MAGIC, VERSION

__all__ = ["apply", "apply_file", "read_header", "check_base", "header_id", "Summary", "DeltaError",
           "MAGIC", "VERSION", "HEADER_SIZE"]
