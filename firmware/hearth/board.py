"""Board definitions: boards/<name>.toml, validated against one schema table.

The one board loader: the app, the launcher (`python -m hearth.boot init`)
and the image builder (`hearth image build`) all read board files through
load(), so no image is signed for a board file the app would refuse.

A board is data: where audio comes from, which GPIO lines do what, which
files hold temperatures, where storage lives, how much memory and time each
stage may use. Loading checks every key and names the bad one:

    boards/x.toml: [budgets] detect_ms: must be a number > 0, got 'fast'

`{storage}` in a path is replaced by the storage root, so the sim board's
"sysfs" files live in its storage directory.
"""
import os
import platform
import tomllib

from .core.governor import DEFAULT_LIMITS
from .core.modes import CAUSES

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BOARDS_DIR = os.path.join(ROOT, "boards")
ARCHES = ("x86_64", "aarch64", "armv7")


class BoardError(ValueError):
    """A board file is missing or invalid; the message names the file and key."""


# -- value checks: each returns an error text or None -------------------------
def _str(v):
    return None if isinstance(v, str) and v else "must be a non-empty string"


def _int(lo, hi=None):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
            return "must be an integer %s" % ("in %d..%d" % (lo, hi) if hi is not None else ">= %d" % lo)
        return None
    return check


def _num(lo=0.0, strict=True):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            return "must be a number"
        if (strict and v <= lo) or (not strict and v < lo):
            return "must be a number %s %g" % (">" if strict else ">=", lo)
        return None
    return check


def _one_of(*choices):
    def check(v):
        return None if v in choices else "must be one of %s" % ", ".join('"%s"' % c for c in choices)
    return check


def _bool(v):
    return None if isinstance(v, bool) else "must be true or false"


def _broker(v):
    if not isinstance(v, str) or not (v.startswith("mqtt://") or v.startswith("mqtts://")) or len(v) < 9:
        return "must be a URL mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
    return None


def _models(v):
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        return "must be a list of model names or manifest paths"
    return None


# [oven] limits that are durations or a band width: zero would mean an oven
# that switches off at once, never silences, or chatters its relay.
OVEN_POSITIVE = ("hysteresis_c", "max_on_s", "max_timer_s", "alarm_hold_s")

# [oven] limits checked against each other: (lower, relation, upper). The
# governor is only as safe as this order: a cutoff above the sensor's valid
# range trips only on the above-range latch; a setpoint at or over the reset
# level would heat into the latch and stay there; a fan that starts above
# the reset level leaves a latched oven uncooled; a timer longer than the
# auto-off could never run out.
OVEN_ORDER = (
    ("valid_min_c", "<", "min_setpoint_c"),
    ("min_setpoint_c", "<", "max_setpoint_c"),
    ("min_setpoint_c", "<=", "default_setpoint_c"),
    ("default_setpoint_c", "<=", "max_setpoint_c"),
    ("max_setpoint_c", "<", "cutoff_reset_c"),
    ("fan_on_c", "<=", "cutoff_reset_c"),
    ("cutoff_reset_c", "<", "cutoff_c"),
    ("cutoff_c", "<=", "valid_max_c"),
    ("max_timer_s", "<=", "max_on_s"),
)
_FLIP = {"<": ">", "<=": ">="}

GPIO_LINES = ("start", "stop", "up", "down", "light", "timer", "door",
              "heater", "fan", "lamp", "buzzer", "ring_r", "ring_g", "ring_b")

def _jitter(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
        return "must be a number in [0, 1)"
    return None


# section -> key -> (required, check). Sub-tables are sections named "a.b".
SCHEMA = {
    "board": {"name": (True, _str), "arch": (True, _one_of(*ARCHES)),
              "description": (True, _str), "kind": (True, _one_of("sim", "linux"))},
    "audio": {"source": (True, _one_of("sim", "alsa")), "device": (False, _str),
              "rate": (True, _one_of(16000)), "block_ms": (True, _int(100, 1000))},
    "gpio": {"chip": (True, _str), "active_low_inputs": (False, _bool),
             "active_low_outputs": (False, _bool)},
    "gpio.lines": dict((k, (True, _int(0, 511))) for k in GPIO_LINES),
    "sensors": {"cavity": (True, _str), "food": (False, _str)},
    "thermal": {"zone": (True, _str), "soc_limit_c": (True, _num(0)),
                "soc_hysteresis_c": (True, _num(0)), "poll_s": (False, _num(0))},
    "storage": {"root": (True, _str), "slot_bytes": (True, _int(4096))},
    "memory": {"budget_bytes": (True, _int(1 << 20))},
    "budgets": {"capture_ms": (True, _num()), "detect_ms": (True, _num()),
                "alarm_ms": (True, _num()), "decide_ms": (True, _num()),
                "actuate_ms": (True, _num())},
    "detector": {"models": (True, _models), "listen_window_s": (False, _num()),
                 "health_check_s": (False, _num())},
    "oven": dict((k, (False, _num() if k in OVEN_POSITIVE else _num(-273.15, False))) for k in DEFAULT_LIMITS),
    "modes": dict((c.replace(" ", "_"), (False, None)) for c in CAUSES),
    "quality": {"feature_min": (False, _num(-1e9, False)), "feature_max": (False, _num(-1e9, False))},
    "sim": {"ambient_c": (False, _num(-50.0, False)), "heater_rise_c": (False, _num()),
            "tau_s": (False, _num()), "tau_door_s": (False, _num()),
            "food_tau_s": (False, _num()), "soc_c": (False, _num(-50.0, False))},
    # hearth.telemetry (docs/TELEMETRY.md); allow_raw_samples is the one opt-in
    # that lets raw audio, features or model inputs leave the device
    "telemetry": {"enabled": (False, _bool), "broker": (False, _broker), "device_id": (False, _str),
                  "heartbeat_s": (False, _num(10.0, False)), "event_flush_s": (False, _num()),
                  "daily_bytes": (False, _int(4096)), "spool_messages": (False, _int(8)),
                  "spool_bytes": (False, _int(16384)), "topic_prefix": (False, _str),
                  "max_inflight": (False, _int(1, 1000)), "tls_ca": (False, _str),
                  "tls_cert": (False, _str), "tls_key": (False, _str),
                  "allow_raw_samples": (False, _bool)},
    # the OTA service (hearth.ota.service.from_board has the defaults)
    "ota": {"enabled": (False, _bool), "url": (True, _str), "interval_s": (False, _num(1.0, False)),
            "jitter": (False, _jitter), "first_check_s": (False, _num(0.0, False)),
            "device_id": (False, _str), "ring": (False, _str), "root": (False, _str),
            "reboot": (False, _one_of("now", "idle", "never"))},
}
REQUIRED_SECTIONS = ("board", "audio", "thermal", "storage", "memory", "budgets", "detector")
LINUX_SECTIONS = ("gpio", "gpio.lines", "sensors")


# platform.machine() spellings -> our arch names. armv8l is a 32-bit ARM
# userland on a 64-bit kernel: it runs armv7 code.
_MACHINE = {
    "x86_64": "x86_64", "amd64": "x86_64",
    "aarch64": "aarch64", "arm64": "aarch64",
    "armv7l": "armv7", "armv7": "armv7", "armv8l": "armv7", "armhf": "armv7",
}


def host_arch():
    """The arch of this machine (what a kind = "sim" board runs on)."""
    m = platform.machine().lower()
    return _MACHINE.get(m, m)


class Board:
    def __init__(self, path, data, storage_root):
        self.path = path
        self.data = data
        b = data["board"]
        self.name = b["name"]
        self.kind = b["kind"]
        # The sim runs on whatever host runs it: its arch is the host's.
        self.arch = host_arch() if self.kind == "sim" else b["arch"]
        self.description = b["description"]
        self.storage_root = storage_root

    def section(self, name):
        return self.data.get(name, {})

    def get(self, dotted, default=None):
        sec, _, key = dotted.rpartition(".")
        return self.data.get(sec, {}).get(key, default)

    def path_of(self, dotted):
        v = self.get(dotted)
        if v is None:
            return None
        return v.replace("{storage}", self.storage_root)

    @property
    def block_samples(self):
        return self.data["audio"]["rate"] * self.data["audio"]["block_ms"] // 1000

    def budgets_s(self):
        b = self.data["budgets"]
        return dict((k[:-3], b[k] / 1000.0) for k in b)

    def limits(self):
        return dict(self.section("oven"))

    def mode_overrides(self):
        out = {}
        for k, v in self.section("modes").items():
            out[k.replace("_", " ")] = v
        return out


def _flatten(data, path, prefix=""):
    """{"gpio": {"chip":..., "lines": {...}}} -> sections "gpio", "gpio.lines"."""
    out = {}
    for k, v in data.items():
        name = prefix + k
        if not isinstance(v, dict):
            raise BoardError("%s: %s: expected a [table], got a value" % (path, name))
        plain = {}
        for kk, vv in v.items():
            if isinstance(vv, dict) and (name + "." + kk) in SCHEMA:
                out.update(_flatten({kk: vv}, path, name + "."))
            else:
                plain[kk] = vv
        out[name] = plain
    return out


def validate(data, path="<board>"):
    """Check a parsed board file; raises BoardError naming the bad key."""
    if not isinstance(data, dict):
        raise BoardError("%s: not a table" % path)
    secs = _flatten(data, path)
    for sec in secs:
        if sec not in SCHEMA:
            raise BoardError("%s: [%s]: unknown section (known: %s)" % (path, sec, ", ".join(sorted(SCHEMA))))
    required = list(REQUIRED_SECTIONS)
    if secs.get("board", {}).get("kind") == "linux":
        required += list(LINUX_SECTIONS)
    for sec in required:
        if sec not in secs:
            raise BoardError("%s: [%s]: missing section" % (path, sec))
    for sec, values in secs.items():
        schema = SCHEMA[sec]
        for key in values:
            if key not in schema:
                raise BoardError("%s: [%s] %s: unknown key" % (path, sec, key))
        for key, (required_key, check) in schema.items():
            if key not in values:
                if required_key:
                    raise BoardError("%s: [%s] %s: missing" % (path, sec, key))
                continue
            v = values[key]
            if sec == "modes":
                err = _check_mode_override(v)
            else:
                err = check(v)
            if err:
                raise BoardError("%s: [%s] %s: %s, got %r" % (path, sec, key, err, v))
    if secs["audio"]["source"] == "alsa" and "device" not in secs["audio"]:
        raise BoardError("%s: [audio] device: missing (needed for source = \"alsa\")" % path)
    th = secs["thermal"]
    if th["soc_hysteresis_c"] >= th["soc_limit_c"]:
        raise BoardError("%s: [thermal] soc_hysteresis_c: must be below soc_limit_c" % path)
    err = _relations(secs)
    if err:
        raise BoardError("%s: %s" % (path, err))
    return secs


def _relations(secs):
    """Keys that are each valid but contradict each other: '[sec] key: why', or None."""
    given = secs.get("oven", {})
    oven = dict(DEFAULT_LIMITS)
    oven.update(given)
    for lo, rel, hi in OVEN_ORDER:
        a, b = oven[lo], oven[hi]
        if a < b or (rel == "<=" and a == b):
            continue
        # name the key the board sets (both set: the lower one)
        if lo in given or hi not in given:
            return "[oven] %s: must be %s %s (%g), got %g" % (lo, rel, hi, b, a)
        return "[oven] %s: must be %s %s (%g), got %g" % (hi, _FLIP[rel], lo, a, b)
    room = oven["min_setpoint_c"] - oven["valid_min_c"]
    if oven["hysteresis_c"] >= room:
        return ("[oven] hysteresis_c: must be < min_setpoint_c - valid_min_c (%g), got %g: at the lowest "
                "setpoint the heater would only switch on below the sensor's range" % (room, oven["hysteresis_c"]))
    q = secs.get("quality", {})
    if ("feature_min" in q) != ("feature_max" in q):
        have, missing = ("feature_min", "feature_max") if "feature_min" in q else ("feature_max", "feature_min")
        return "[quality] %s: missing (%s is set; give both or neither)" % (missing, have)
    if "feature_min" in q and q["feature_min"] >= q["feature_max"]:
        return "[quality] feature_min: must be < feature_max (%g), got %g" % (q["feature_max"], q["feature_min"])
    budgets = secs["budgets"]
    total = sum(budgets.values())
    block_ms = secs["audio"]["block_ms"]
    if total > block_ms:
        worst = max(sorted(budgets), key=lambda k: budgets[k])
        return ("[budgets] %s: the stage budgets add up to %g ms, more than one block ([audio] block_ms = %d): "
                "lower %s or raise block_ms" % (worst, total, block_ms, worst))
    owner = {}
    lines = secs.get("gpio.lines", {})
    for name in GPIO_LINES:
        if name not in lines:
            continue
        line = lines[name]
        if line in owner:
            return "[gpio.lines] %s: line %d is also %s: give each function its own line" % (name, line, owner[line])
        owner[line] = name
    return None


def _check_mode_override(v):
    if not isinstance(v, dict) or not v:
        return "must be a table {enter_s = N, exit_s = N}"
    for k, x in v.items():
        if k not in ("enter_s", "exit_s"):
            return "unknown field %s (enter_s, exit_s)" % k
        if _num(0.0, False)(x):
            return "%s must be a number >= 0" % k
    return None


def board_path(name_or_path):
    if os.sep in name_or_path or name_or_path.endswith(".toml"):
        return name_or_path
    return os.path.join(BOARDS_DIR, name_or_path + ".toml")


def names():
    return sorted(f[:-5] for f in os.listdir(BOARDS_DIR) if f.endswith(".toml"))


def load(name_or_path, storage=None):
    """Load and validate a board by name ("sim") or path. `storage` overrides [storage] root."""
    path = board_path(name_or_path)
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise BoardError("%s: no such board (known: %s)" % (path, ", ".join(names()))) from None
    except tomllib.TOMLDecodeError as e:
        raise BoardError("%s: invalid TOML: %s" % (path, e)) from None
    except UnicodeDecodeError:
        raise BoardError("%s: invalid TOML: not UTF-8 text" % path) from None
    except RecursionError:          # tomllib recurses per nested array / inline table
        raise BoardError("%s: invalid TOML: nested too deeply" % path) from None
    except OSError as e:
        raise BoardError("%s: %s" % (path, e.strerror or e)) from None
    secs = validate(raw, path)
    root = storage or secs["storage"]["root"]
    return Board(path, secs, os.path.abspath(root))
