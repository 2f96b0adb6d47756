"""Atheris targets for the untrusted inputs outside hearth.image: the
launcher's records, board files, the console line, the OTA client's records,
metadata and compressed downloads, and what a device sends the host.

Same contract as fuzz_python.py: the parser accepts, or refuses with its
module's documented error; anything else (or an AssertionError from a broken
invariant) is a crash. Only the modules under test are instrumented.
"""
import atexit
import io
import json
import lzma
import os
import shutil
import tempfile
import tomllib

import atheris

with atheris.instrument_imports(include=["hearth.boot.state", "hearth.board", "hearth.core.linedisc",
                                         "hearth.core.shell", "hearth.ota.record", "hearth.ota.select",
                                         "hearth.ota.fetcher", "hearth_tools.device"]):
    from hearth import board as B
    from hearth.boot import state as S
    from hearth.core.linedisc import SMP_CONT, SMP_START, LineDiscipline
    from hearth.core.shell import CommandError, Shell, quote, tokenize
    from hearth.image.manifest import parse_version
    from hearth.ota import record as R, select
    from hearth.ota.fetcher import DecompressError, DecompressingReader
    from hearth_tools import device as D
    from hearth_tools.transport.base import DeviceUnreachable, Transport, TransportError

import input_seeds


def _sizes(data, most):
    """A chunking derived from the input's length (seeds stay plain traffic)."""
    x = len(data) * 2654435761 | 1
    while True:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        yield 1 + x % most


def _pieces(data, most):
    sizes = _sizes(data, most)
    i = 0
    while i < len(data):
        n = next(sizes)
        yield data[i:i + n]
        i += n


# -- launcher records -----------------------------------------------------------
def _record_or_none(raw):
    try:
        return S._unwrap(raw, "copy")
    except ValueError:
        return None


def boot_state(data):
    """state.json, state.copy.json, confirmed.json and device.json (split at
    input_seeds.SEP; an empty part is a missing file): readers refuse only
    as documented, and a record that loads validates."""
    parts = data.split(input_seeds.SEP, 3)
    st = input_seeds.MemStorage((name, part) for name, part in zip(input_seeds.STATE_PARTS, parts) if part)
    got = S.read_state(st)
    assert got.fresh == (not any(st.exists(n) for n in S.STATE_COPIES)), got.note
    if got.state is not None:
        S._validate(got.state)
        assert S._unwrap(S._wrap(got.state), "again") == got.state
        assert got.state in [_record_or_none(st.read(n)) for n in S.STATE_COPIES if st.exists(n)]
    state, note = S.load_state(st)
    S._validate(state)
    assert note is None or isinstance(note, str)
    conf = S.load_confirmed(st)
    if conf is not None:
        assert conf["format"] == S.FORMAT and conf["security_counter"] >= 0, conf
    try:
        dev = S.load_device(st)
    except S.StateError:
        return
    for key, t in (("board", str), ("arch", str), ("slot_bytes", int), ("max_attempts", int)):
        assert isinstance(dev[key], t), dev


# -- board files -------------------------------------------------------------------
_BOARD_DIR = []


def _board_file():
    """A scratch file for load() (made on first use, removed at exit)."""
    if not _BOARD_DIR:
        _BOARD_DIR.append(tempfile.mkdtemp(prefix="hearth-fuzz-board-"))
        atexit.register(shutil.rmtree, _BOARD_DIR[0], True)
    return os.path.join(_BOARD_DIR[0], "fuzz.toml")
_ORDER = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


def board_toml(data):
    """A board file: validate() over the parsed TOML and the strict load() of
    the same file decide alike; BoardError, or a board whose relations hold."""
    path = _board_file()
    with open(path, "wb") as f:
        f.write(data)
    try:
        loaded = B.load(path, storage="/tmp/fuzz-storage")
    except B.BoardError as e:
        loaded = e
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        assert isinstance(loaded, B.BoardError) and "invalid TOML" in str(loaded), loaded
        return
    try:
        secs = B.validate(raw, path)
    except B.BoardError as e:
        assert isinstance(loaded, B.BoardError) and str(loaded) == str(e), (loaded, e)
        return
    assert isinstance(loaded, B.Board) and loaded.data == secs, loaded
    oven = dict(B.DEFAULT_LIMITS, **secs.get("oven", {}))
    for lo, rel, hi in B.OVEN_ORDER:
        assert _ORDER[rel](oven[lo], oven[hi]), (lo, rel, hi, oven)
    assert secs["thermal"]["soc_hysteresis_c"] < secs["thermal"]["soc_limit_c"]
    assert sum(secs["budgets"].values()) <= secs["audio"]["block_ms"]
    lines = list(secs.get("gpio.lines", {}).values())
    assert len(set(lines)) == len(lines), lines
    assert loaded.block_samples > 0 and loaded.budgets_s() and isinstance(loaded.limits(), dict)
    loaded.mode_overrides()


# -- console line ------------------------------------------------------------------
MAX_LINE = 80


def _num(args):
    return int(args[0]), "%d" % int(args[0])


def _fail(args):
    raise CommandError("refused %s" % quote(" ".join(args)))


def _bug(args):
    raise KeyError(" ".join(args))


def _shell():
    sh = Shell()
    sh.add("echo", lambda args: (args, quote(" ".join(args))), "WORDS", "say the words back")
    sh.add("num", _num, "N", "a number")
    sh.add("fail", _fail, "WHY", "always refused")
    sh.add("bug", _bug, "", "a command with a bug")
    return sh


_SHELL = _shell()
# what the echo may hold besides printable text: CR LF, the erase (BS), the bell
_ECHO_CONTROLS = {8, 13, 10, 7}


def _run_console(pieces):
    echoed = bytearray()
    ld = LineDiscipline(echo=echoed.extend, max_line=MAX_LINE)
    events = []
    for piece in pieces:
        events += ld.feed(piece)
        assert len(ld.buf) <= MAX_LINE + 2, len(ld.buf)     # + the 2 bytes of a frame prefix
        assert all(b >= 32 and b != 127 for b in ld.shown()), ld.shown()
    return events, bytes(echoed)


def _first_word(line):
    try:
        return (tokenize(line) or [None])[0]
    except ValueError:
        return None


def console_line(data):
    """Terminal traffic: whole and chunked feeds decide alike; the echo holds
    no raw control character; lines and frames are what the discipline
    promises; every line's shell reply is one clean line, or JSON."""
    events, echoed = _run_console([data])
    again, echoed2 = _run_console(_pieces(data, 16))
    assert events == again, (events, again)
    assert echoed == echoed2, (echoed, echoed2)
    bad = [b for b in echoed if (b < 32 and b not in _ECHO_CONTROLS) or b == 127]
    assert not bad, "raw control bytes %r in the echo %r" % (bad, echoed)
    for kind, value in events:
        if kind == "frame":
            assert value[:2] in (SMP_START, SMP_CONT) and b"\n" not in value and b"\r" not in value, value
        elif kind == "error":
            assert all(32 <= ord(c) < 127 for c in value), value
        elif kind == "line":
            assert "\r" not in value and "\n" not in value and len(value.encode()) <= MAX_LINE, value
            ok, out = _SHELL.execute(value)
            if out.startswith("{"):
                json.loads(out)
                continue
            if ok and _first_word(value) == "help":     # the command table, one row a line
                out = out.replace("\n", " ")
            assert all(32 <= ord(c) != 127 and not 0x80 <= ord(c) < 0xA0 for c in out), out
        else:
            assert (kind, value) == ("cancel", None), (kind, value)


# -- OTA client ----------------------------------------------------------------------
def ota_record(data):
    """ota/state.json and ota/config.json read back from storage: a dict or
    None, and the next outcome is recorded over whatever was there."""
    st = input_seeds.MemStorage({R.STATE: data, R.CONFIG: data})
    cfg = R.load_config(st)
    assert cfg is None or isinstance(cfg, dict)
    s = R.load_state(st)
    assert isinstance(s, dict) and isinstance(s["history"], list)
    out = R.record(st, "refused", "bad-signature", target="b/1.1.0/full")
    s = R.load_state(st)
    assert s["last"] == out and s["last_outcome"] == out and s["history"][-1] == out, s
    assert len(s["history"]) <= R.HISTORY


def _device_for(flags):
    dev = dict(input_seeds.SELECT_DEVICE)
    if flags & 1:
        dev["version"], dev["digest"] = None, None         # nothing installed yet
    dev["ring"] = ("canary", "all", "internal", "beta")[(flags >> 1) & 3]
    dev["kinds"] = ({"full"}, {"full", "xz"}, {"full", "xz", "delta"}, {"delta"})[(flags >> 3) & 3]
    return dev


def ota_select(data):
    """Custom metadata of a targets role ({path: custom}): the selection
    refuses, or picks a target this device can take."""
    try:
        targets = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return          # python-tuf parses the role; its refusals are not ours
    if not isinstance(targets, dict):
        return
    dev = _device_for(len(data))
    path, h, why = select.choose(targets, dev)
    assert isinstance(why, str) and why, why
    if path is None:
        assert h is None
        return
    custom = targets[path]
    assert custom["hearth"] is h, (path, h)
    rel = "%s/%s" % (dev["board"], h["version"])
    assert h["board"] == dev["board"] and h["arch"] == dev["arch"], h
    v = parse_version(h["version"])
    assert dev["version"] is None or v > parse_version(dev["version"]), h
    assert isinstance(h["security_counter"], int) and h["security_counter"] >= dev["security_counter"], h
    assert parse_version(h["min_launcher_version"]) <= parse_version(dev["launcher_version"]), h
    assert select.offered(custom.get("rollout"), dev["ring"], select.bucket(dev["device_id"], rel)), custom
    if h.get("kind") == "delta":
        assert "delta" in dev["kinds"] and h.get("base_digest") == dev["digest"] is not None, h
    else:
        assert h.get("kind") == "full" and {None: "full", "xz": "xz"}[h.get("compression")] in dev["kinds"], h


MAX_OUTPUT = 1 << 20


def _reference(fmt, payload):
    if fmt == "xz":
        return lzma.decompress(payload, format=lzma.FORMAT_XZ)
    # libzstd's streaming decoder, in pieces: given a whole small frame in one
    # call it applies checks it skips for a frame that arrives in pieces (any
    # real image, > 256 bytes, does), so one-shot decoding is no reference
    import zstandard
    d = zstandard.ZstdDecompressor().decompressobj()
    out = b"".join(d.decompress(payload[i:i + 64]) for i in range(0, len(payload), 64))
    assert d.eof, "the reader accepted a zstd stream the reference finds truncated"
    return out


def ota_decompress(data):
    """A compressed download (first byte even: zstd, odd: xz): DecompressError,
    or exactly what the reference decoder makes of it, within MAX_OUTPUT."""
    if not data:
        return
    fmt = "xz" if data[0] & 1 else "zstd"
    payload = data[1:]
    r = DecompressingReader(io.BytesIO(payload), fmt, MAX_OUTPUT, chunk=1 + data[0] * 4)
    out = []
    try:
        for n in _sizes(data, 70000):
            b = r.read(n)
            assert len(b) <= n
            if not b:
                break
            out.append(b)
    except DecompressError:
        return
    got = b"".join(out)
    assert len(got) <= MAX_OUTPUT, len(got)
    assert got == _reference(fmt, payload), "reader and %s disagree" % fmt


# -- the host reading a device -----------------------------------------------------------
class _Replay(Transport):
    """What the device sent, handed out in pieces; then the device is gone."""

    description = "fuzz replay"

    def __init__(self, data, early=False):
        super().__init__(timeout=5.0)
        self._chunks = _pieces(data, 40)
        self._early = early              # output already waiting before the first command
        self.sent = []

    def _open(self):
        pass

    def _close(self):
        pass

    def _write(self, data):
        self.sent.append(data)

    def _read_some(self, timeout):
        if not self.sent and not self._early:
            return b""
        b = next(self._chunks, None)
        if b is None:
            raise DeviceUnreachable("the replay ended")
        return b


_LINES = ("status", "help", "oven setpoint 150", "log")


def device_reply(data):
    """Device output read as replies (first byte: the console echoes, which
    command, text or --json, output before the command): lines, a result,
    or the documented errors."""
    if not data:
        return
    t = _Replay(data[1:], early=bool(data[0] & 16)).open()
    con = D.Console(t)
    con._synced = True                   # sync() uses a per-process token; its parse is the same
    con._echoes = bool(data[0] & 1)
    line = _LINES[(data[0] >> 1) & 3]
    for _ in range(3):
        try:
            if data[0] & 8:
                reply = con.command(line)
                assert isinstance(reply, str)
            else:
                con.call(*line.split())
        except (D.DeviceError, D.ReplyError):
            pass
        except TransportError:
            break                        # the replay ended (or a timeout): nothing more to read
        finally:
            assert len(con.log_lines) <= D.LOG_KEEP


TARGETS = {f.__name__: f for f in (boot_state, board_toml, console_line, ota_record, ota_select,
                                   ota_decompress, device_reply)}
