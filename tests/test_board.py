"""Board files: every shipped board loads; every kind of mistake names its key."""
import copy
import tomllib

import pytest

from hearth import board

BOARDS = board.names()


def test_shipped_boards():
    assert {"sim", "raspberrypi-zero2w", "stm32mp157"} <= set(BOARDS)
    arches = {n: board.load(n).arch for n in BOARDS}
    assert arches["raspberrypi-zero2w"] == "aarch64"
    assert arches["stm32mp157"] == "armv7"
    assert arches["sim"] == board.host_arch()


@pytest.mark.parametrize("name", BOARDS)
def test_board_contract(name, tmp_path):
    b = board.load(name, storage=str(tmp_path))
    raw = tomllib.load(open(board.board_path(name), "rb"))
    # keys other parts of Hearth read directly with tomllib
    assert raw["board"]["arch"] in board.ARCHES
    assert isinstance(raw["board"]["name"], str) and raw["board"]["name"] == name
    assert isinstance(raw["board"]["description"], str)
    assert isinstance(raw["storage"]["root"], str) and raw["storage"]["slot_bytes"] >= 4096
    assert b.block_samples >= 1600                       # >= 100 ms per Python call
    budgets = b.budgets_s()
    assert set(budgets) == {"capture", "detect", "alarm", "decide", "actuate"}
    assert sum(budgets.values()) < b.block_samples / 16000.0   # the stages fit in a block
    assert b.storage_root == str(tmp_path)
    if b.kind == "linux":
        lines = b.section("gpio.lines")
        assert len(set(lines.values())) == len(lines), "two functions on one GPIO line"


def test_sim_paths_live_in_storage(tmp_path):
    b = board.load("sim", storage=str(tmp_path))
    assert b.path_of("thermal.zone").startswith(str(tmp_path))


def _raw(name="raspberrypi-zero2w"):
    return tomllib.load(open(board.board_path(name), "rb"))


def _dump(d):
    """Minimal TOML writer for the mutated board tables."""
    out = []

    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"%s"' % v
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return repr(v)

    def table(prefix, t):
        scalars = {k: v for k, v in t.items() if not isinstance(v, dict)}
        out.append("[%s]" % prefix)
        out.extend("%s = %s" % (k, val(v)) for k, v in scalars.items())
        for k, v in t.items():
            if isinstance(v, dict):
                table(prefix + "." + k, v)

    for k, v in d.items():
        table(k, v)
    return "\n".join(out) + "\n"


MUTATIONS = [
    (lambda d: d["board"].update(arch="riscv64"), "[board] arch"),
    (lambda d: d["board"].pop("name"), "[board] name: missing"),
    (lambda d: d["audio"].update(rate=44100), "[audio] rate"),
    (lambda d: d["audio"].update(block_ms=20), "[audio] block_ms"),
    (lambda d: d["audio"].pop("device"), "[audio] device"),
    (lambda d: d["budgets"].update(detect_ms="fast"), "[budgets] detect_ms"),
    (lambda d: d["budgets"].update(decide_ms=-1.0), "[budgets] decide_ms"),
    (lambda d: d["gpio"]["lines"].update(heater=9999), "[gpio.lines] heater"),
    (lambda d: d["gpio"]["lines"].pop("door"), "[gpio.lines] door: missing"),
    (lambda d: d["gpio"].update(chipp="/dev/gpiochip1"), "[gpio] chipp: unknown key"),
    (lambda d: d.update(extras={"x": 1}), "[extras]: unknown section"),
    (lambda d: d.pop("thermal"), "[thermal]: missing section"),
    (lambda d: d["thermal"].update(soc_hysteresis_c=200.0), "[thermal] soc_hysteresis_c"),
    (lambda d: d["storage"].update(slot_bytes=True), "[storage] slot_bytes"),
    (lambda d: d["detector"].update(models="okay_nabu"), "[detector] models"),
    (lambda d: d.update(oven={"max_setpoint_c": 400.0}), "[oven] max_setpoint_c"),
    # limits checked against each other: the key the board sets is named
    (lambda d: d.update(oven={"cutoff_c": 450.0}), "[oven] cutoff_c: must be <= valid_max_c"),
    (lambda d: d.update(oven={"valid_max_c": 280.0}), "[oven] valid_max_c: must be >= cutoff_c"),
    (lambda d: d.update(oven={"cutoff_c": 240.0}), "[oven] cutoff_c: must be > cutoff_reset_c"),
    (lambda d: d.update(oven={"cutoff_reset_c": 300.0}), "[oven] cutoff_reset_c: must be < cutoff_c"),
    (lambda d: d.update(oven={"cutoff_reset_c": 240.0}), "[oven] cutoff_reset_c: must be > max_setpoint_c"),
    (lambda d: d.update(oven={"min_setpoint_c": 260.0}), "[oven] min_setpoint_c: must be < max_setpoint_c"),
    (lambda d: d.update(oven={"default_setpoint_c": 260.0}), "[oven] default_setpoint_c: must be <= max_setpoint_c"),
    (lambda d: d.update(oven={"default_setpoint_c": 40.0}), "[oven] default_setpoint_c: must be >= min_setpoint_c"),
    (lambda d: d.update(oven={"valid_min_c": 100.0}), "[oven] valid_min_c: must be <"),
    (lambda d: d.update(oven={"hysteresis_c": 0.0}), "[oven] hysteresis_c: must be a number > 0"),
    (lambda d: d.update(oven={"hysteresis_c": 95.0}), "[oven] hysteresis_c"),
    (lambda d: d.update(oven={"fan_on_c": 270.0}), "[oven] fan_on_c: must be <= cutoff_reset_c"),
    (lambda d: d.update(oven={"max_on_s": 0.0}), "[oven] max_on_s: must be a number > 0"),
    (lambda d: d.update(oven={"max_timer_s": 20000.0}), "[oven] max_timer_s: must be <= max_on_s"),
    (lambda d: d.update(oven={"alarm_hold_s": -1.0}), "[oven] alarm_hold_s: must be a number > 0"),
    (lambda d: d["quality"].update(feature_min=400.0), "[quality] feature_min: must be < feature_max"),
    (lambda d: d["quality"].pop("feature_max"), "[quality] feature_max: missing (feature_min is set"),
    (lambda d: d["budgets"].update(detect_ms=99.0), "[budgets] detect_ms: the stage budgets add up to"),
    (lambda d: d["gpio"]["lines"].update(fan=17), "[gpio.lines] fan: line 17 is also heater"),
    (lambda d: d.update(modes={"soc_hot": {"enter_s": -1}}), "[modes] soc_hot"),
    (lambda d: d.update(modes={"soc_hot": {"enter": 1}}), "[modes] soc_hot"),
]


@pytest.mark.parametrize("mutate,needle", MUTATIONS, ids=[m[1] for m in MUTATIONS])
def test_invalid_boards_name_the_key(tmp_path, mutate, needle):
    _refused_by_the_app(tmp_path, _raw(), mutate, needle)


def _refused_by_the_app(tmp_path, raw, mutate, needle):
    """Write `raw` mutated; check hearth.board refuses it naming the key. -> (path, message)."""
    d = copy.deepcopy(raw)
    mutate(d)
    p = tmp_path / "bad.toml"
    p.write_text(_dump(d))
    with pytest.raises(board.BoardError) as e:
        board.load(str(p))
    msg = str(e.value)
    assert needle in msg and str(p) in msg
    assert "\n" not in msg
    return p, msg


def test_roundtrip_writer_is_faithful(tmp_path):
    p = tmp_path / "same.toml"
    p.write_text(_dump(_raw()))
    assert board.load(str(p)).data == board.load("raspberrypi-zero2w").data


def test_unreadable_files(tmp_path):
    with pytest.raises(board.BoardError, match="no such board"):
        board.load("no-such-board")
    p = tmp_path / "broken.toml"
    p.write_text("[board\nname = 'x'")
    with pytest.raises(board.BoardError, match="invalid TOML"):
        board.load(str(p))
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(board.BoardError):
        board.load(str(p))


# What the app refuses, the launcher and the image builder refuse too, with
# the same message: they all read board files through hearth.board.
REFUSED = [
    (lambda d: d.update(oven={"cutoff_c": 450.0}), "[oven] cutoff_c"),
    (lambda d: d.pop("audio"), "[audio]: missing section"),
    (lambda d: d["storage"].update(slot_bytes=True), "[storage] slot_bytes"),
    (lambda d: d["board"].update(arch="host"), "[board] arch"),
]


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory):
    from hearth_tools.testing import testkit
    return testkit.keygen(str(tmp_path_factory.mktemp("key") / "key.pem"))


@pytest.mark.parametrize("mutate,needle", REFUSED, ids=[m[1] for m in REFUSED])
def test_image_build_and_launcher_refuse_what_the_app_refuses(tmp_path, signing_key, mutate, needle):
    from conftest import run_hearth
    from hearth.boot.__main__ import main as boot_main
    p, app_msg = _refused_by_the_app(tmp_path, _raw("sim"), mutate, needle)
    rc, out, err = run_hearth("image", "build", "--board", str(p), "--version", "1.0.0",
                              "--key", signing_key, "-o", str(tmp_path / "x.img"))
    assert rc != 0 and app_msg in err and not (tmp_path / "x.img").exists(), err
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stderr(buf):
        rc = boot_main(["init", "--storage", str(tmp_path / "st"), "--board", str(p), "--key", signing_key])
    assert rc != 0 and app_msg in buf.getvalue(), buf.getvalue()


def test_one_host_arch():
    from hearth.boot import device
    from hearth_tools.image import native
    assert device.host_arch is board.host_arch and native.host_arch is board.host_arch
