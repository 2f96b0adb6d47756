"""The message envelope (schema version 1), and what may never be in it.

Every message is one CBOR map:

    {"v": 1, "dev": device id, "boot": boot number, "seq": n, "t": wall time (s),
     "k": "hb" | "ev" | "sample", "b": body}

(dev, boot, seq) names a message once: the fleet stores it once however
often QoS 1 delivers it. docs/TELEMETRY.md describes each body.

Privacy: a body is summaries. check() refuses anything that could carry a
signal: byte strings, arrays (numpy or array.array), long lists of numbers
and long strings. Raw audio, features and model inputs can only leave as a
"sample" message, which the service builds only with the board's explicit
opt-in ([telemetry] allow_raw_samples = true).
"""
import cbor2

VERSION = 1
KINDS = ("hb", "ev", "sample")
MAX_LIST = 64           # the longest list a summary has (histogram buckets, event batches)
MAX_STR = 512           # log-line sized; a fault's text
MAX_DEPTH = 8
INT64 = 1 << 63         # what a database column holds


class PrivacyError(ValueError):
    """A telemetry body held something that is not a summary."""


def check(obj, depth=0, where="body"):
    """Raise PrivacyError naming where `obj` holds a non-summary value."""
    if depth > MAX_DEPTH:
        raise PrivacyError("%s: nested deeper than %d" % (where, MAX_DEPTH))
    if obj is None or isinstance(obj, (bool, int, float)):
        return
    if isinstance(obj, str):
        if len(obj) > MAX_STR:
            raise PrivacyError("%s: a %d-character string (max %d)" % (where, len(obj), MAX_STR))
        return
    if isinstance(obj, (list, tuple)):
        if len(obj) > MAX_LIST:
            raise PrivacyError("%s: a list of %d items (max %d)" % (where, len(obj), MAX_LIST))
        for i, v in enumerate(obj):
            check(v, depth + 1, "%s[%d]" % (where, i))
        return
    if isinstance(obj, dict):
        if len(obj) > 4 * MAX_LIST:
            raise PrivacyError("%s: a map of %d items" % (where, len(obj)))
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise PrivacyError("%s: key %r is not a string or integer" % (where, k))
            check(v, depth + 1, "%s.%s" % (where, k))
        return
    raise PrivacyError("%s: %s is not a summary value (no bytes, arrays or objects leave the device)"
                       % (where, type(obj).__name__))


def envelope(dev, boot, seq, t, kind, body):
    if kind not in KINDS:
        raise ValueError("unknown message kind %r" % kind)
    return {"v": VERSION, "dev": dev, "boot": boot, "seq": seq, "t": t, "k": kind, "b": body}


def encode(dev, boot, seq, t, kind, body):
    """The CBOR bytes of one message; a summary kind's body must pass check()."""
    if kind != "sample":
        check(body)
    return cbor2.dumps(envelope(dev, boot, seq, round(float(t), 3), kind, body))


class SchemaError(ValueError):
    """Bytes that are not a version-1 telemetry message."""


def decode(data, max_bytes=None):
    """The envelope of one message; SchemaError (one line) if it is not one."""
    if max_bytes is not None and len(data) > max_bytes:
        raise SchemaError("message of %d bytes is over the %d-byte limit" % (len(data), max_bytes))
    try:
        m = cbor2.loads(data)
    except Exception as e:          # cbor2 raises several types for malformed input
        raise SchemaError("not CBOR: %s" % e) from None
    if not isinstance(m, dict):
        raise SchemaError("not a CBOR map")
    if m.get("v") != VERSION:
        raise SchemaError("schema version %r (this reader knows %d)" % (m.get("v"), VERSION))
    for key, types in (("dev", str), ("boot", int), ("seq", int), ("t", (int, float)), ("k", str)):
        if not isinstance(m.get(key), types) or isinstance(m.get(key), bool):
            raise SchemaError("field %r missing or of the wrong type" % key)
    if m["k"] not in KINDS:
        raise SchemaError("unknown kind %r" % m["k"])
    if not m["dev"] or len(m["dev"]) > 128 or "\x00" in m["dev"]:
        raise SchemaError("device id empty, longer than 128 characters or holding NUL")
    if not (0 <= m["boot"] < INT64 and 0 <= m["seq"] < INT64) or m["t"] != m["t"] or abs(m["t"]) > 1e12:
        raise SchemaError("boot, seq or t out of range")
    if not isinstance(m.get("b"), (dict, list, bytes)):
        raise SchemaError("body missing")
    return m
