"""One command-line behaviour for `hearth` and `python -m hearth.boot`:
global options before or after the sub-command, one exit-code table, one-line
errors (and a JSON object with --json), quiet broken pipes, --no-run as a
dry run, the library modules as sub-commands, colour only on a terminal."""
import io
import json
import os
import re
import subprocess
import sys

import pytest

from hearth import exitcodes
from hearth_tools import cli
from hearth_tools.errors import UsageError
from hearth_tools.transport import DeviceUnreachable
from hearth_tools.testing import testkit

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def hearth(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def boot_cli(*argv, env=None, stdin=None):
    e = dict(os.environ)
    e.pop("HEARTH_STORAGE", None)
    e.update(env or {})
    r = subprocess.run([sys.executable, "-m", "hearth.boot"] + list(argv), capture_output=True, text=True,
                       env=e, input=stdin, timeout=120)
    return r.returncode, r.stdout, r.stderr


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")

    class Dev:
        pass
    x = Dev()
    x.dir = d
    x.key = testkit.keygen(str(d / "key.pem"))
    x.board = testkit.write_board(str(d), slot_bytes=64 * 1024)
    x.image = str(d / "v1.img")
    with open(x.image, "wb") as f:
        f.write(testkit.small_image(x.key, x.board, "1.0.0", 1))
    return x


def provisioned(dev, path, install=False):
    assert boot_cli("init", "--storage", str(path), "--board", dev.board, "--key", dev.key)[0] == 0
    if install:
        assert boot_cli("install", "--storage", str(path), dev.image)[0] == 0
    return str(path)


# -- exit codes -------------------------------------------------------------
def test_one_exit_code_table_documented_in_cli_md():
    codes = [c for c, _n, _m in exitcodes.TABLE]
    assert len(set(codes)) == len(codes)
    assert len({n for _c, n, _m in exitcodes.TABLE}) == len(codes)
    assert DeviceUnreachable("x").exit_code == exitcodes.DEVICE != exitcodes.RECOVERY
    assert UsageError("x").exit_code == exitcodes.USAGE
    from hearth.app import EXIT_TRIAL_UNHEALTHY
    assert EXIT_TRIAL_UNHEALTHY == exitcodes.TRIAL_UNHEALTHY
    with open(os.path.join(ROOT, "docs", "CLI.md"), encoding="utf-8") as f:
        doc = f.read()
    section = doc.split("## Exit codes", 1)[1]
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \|", section, re.M)
    assert [(int(c), n) for c, n in rows] == [(c, n) for c, n, _m in exitcodes.TABLE]


def test_launcher_recovery_uses_the_table(dev, tmp_path):
    st = provisioned(dev, tmp_path / "st")
    rc, out, _ = boot_cli("boot", "--storage", st, "--no-recovery", "--json")
    assert rc == exitcodes.RECOVERY and json.loads(out)["recovery"]


# -- global options before and after the sub-command -------------------------
def test_boot_storage_before_the_subcommand_is_not_replaced_by_the_environment(dev, tmp_path):
    st = provisioned(dev, tmp_path / "right")
    wrong = tmp_path / "wrong"
    for argv in (["--storage", st, "install", dev.image], ["install", "--storage", st, dev.image]):
        rc, out, err = boot_cli(*argv, "--json", env={"HEARTH_STORAGE": str(wrong)})
        assert rc == 0, err
        assert not wrong.exists()
        assert json.loads(out)["slot"] == "a"
    # with no --storage at all the environment still counts
    rc, out, err = boot_cli("status", "--json", env={"HEARTH_STORAGE": st})
    assert rc == 0 and json.loads(out)["pending"] == "a"


@pytest.mark.parametrize("where", ["before", "after"])
def test_boot_json_and_debug_anywhere(dev, tmp_path, where):
    st = provisioned(dev, tmp_path / "st")
    opts = ["--json", "--debug", "--storage", st]
    argv = opts + ["status"] if where == "before" else ["status"] + opts
    rc, out, err = boot_cli(*argv)
    assert rc == 0, err
    assert json.loads(out)["board"] == "testboard"


@pytest.mark.parametrize("argv", [
    ["--json", "--storage", "{st}", "sim", "--script", "{script}"],
    ["sim", "--script", "{script}", "--json", "--storage", "{st}"],
    ["--debug", "sim", "--json", "--storage", "{st}", "--script", "{script}"],
])
def test_hearth_json_debug_storage_anywhere(tmp_path, capsys, argv):
    script = tmp_path / "s.txt"
    script.write_text("wait 0.5\nexpect mode=FULL\n")
    st = tmp_path / "storage"
    argv = [a.format(st=st, script=script) for a in argv]
    rc, out, err = hearth(capsys, *argv)
    assert rc == 0, err
    assert json.loads(out.splitlines()[-1])["ok"] is True
    assert st.is_dir() and os.listdir(st)          # the device storage was the one given


def test_hearth_storage_on_a_command_without_storage_is_a_usage_error(tmp_path, capsys):
    rc, out, err = hearth(capsys, "--storage", str(tmp_path), "image", "info", "x.img")
    assert rc == exitcodes.USAGE and out == ""
    assert err.count("\n") == 1 and "--storage" in err


# -- failures: one line, and a JSON object with --json -----------------------
def test_hearth_json_failure_prints_a_json_object(tmp_path, capsys):
    rc, out, err = hearth(capsys, "--json", "image", "info", str(tmp_path / "missing.img"))
    assert rc == exitcodes.USAGE
    obj = json.loads(out)
    assert obj["ok"] is False and obj["exit_code"] == rc and obj["exit"] == "USAGE"
    assert "missing.img" in obj["error"] and err.count("\n") == 1
    rc, out, err = hearth(capsys, "image", "info", "x.img", "--no-such-option", "--json")
    assert rc == exitcodes.USAGE and json.loads(out)["exit"] == "USAGE"
    assert err.count("\n") == 1 and "--no-such-option" in err


def test_boot_json_failure_prints_a_json_object(tmp_path):
    rc, out, err = boot_cli("status", "--json", "--storage", str(tmp_path / "none"))
    assert rc == exitcodes.FAILURE
    obj = json.loads(out)
    assert obj["ok"] is False and "not initialized" in obj["error"] and obj["exit_code"] == rc
    assert err.count("\n") == 1
    rc, out, err = boot_cli("--json", "frobnicate")
    assert rc == exitcodes.USAGE and json.loads(out)["exit"] == "USAGE" and err.count("\n") == 1


def test_image_build_output_mistakes_are_one_line(dev, tmp_path, capsys):
    (tmp_path / "adir").mkdir()
    for target in [tmp_path / "adir", tmp_path / "no" / "such" / "dir" / "x.img"]:
        rc, out, err = hearth(capsys, "image", "build", "--board", "sim", "--version", "1.0.0",
                              "--key", dev.key, "-o", str(target))
        assert rc == exitcodes.USAGE, err
        assert err.count("\n") == 1 and err.startswith("hearth: error: ") and str(target) in err
    assert os.listdir(tmp_path / "adir") == []


@pytest.mark.parametrize("line", ["wait abc", "wait", "until", "corrupt", "alarm t3 3k many",
                                  "until mode=normal within soon"])
def test_bad_script_line_is_one_line(tmp_path, capsys, line):
    script = tmp_path / "bad.txt"
    script.write_text("wait 0.1\n%s\n" % line)
    rc, out, err = hearth(capsys, "sim", "--script", str(script), "--storage", str(tmp_path / "st"))
    assert rc == exitcodes.USAGE, err
    assert err.count("\n") == 1 and "script line 2" in err


def test_board_name_where_a_file_is_wanted(dev, tmp_path):
    rc, out, err = boot_cli("init", "--storage", str(tmp_path / "st"), "--board", "sim", "--key", dev.key)
    assert rc == exitcodes.USAGE
    assert err.count("\n") == 1 and os.path.join("boards", "sim.toml") in err


def run_into_closed_pipe(argv):
    """Run with stdout a pipe nobody reads any more, as after `| head -c1`
    has taken its byte: every write fails with EPIPE."""
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run([sys.executable] + argv, stdout=w, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(w)
    return p.returncode, p.stderr.decode()


@pytest.mark.parametrize("opts", [[], ["--json"]])
def test_broken_pipe_exits_quietly(opts):
    rc, err = run_into_closed_pipe(["-m", "hearth_tools.cli"] + opts + ["demo", "--print-script"])
    assert (rc, err) == (exitcodes.BROKEN_PIPE, "")


def test_boot_broken_pipe_exits_quietly(dev, tmp_path):
    st = provisioned(dev, tmp_path / "st", install=True)
    rc, err = run_into_closed_pipe(["-m", "hearth.boot", "status", "--storage", st])
    assert (rc, err) == (exitcodes.BROKEN_PIPE, "")


def test_head_c1_exits_quietly(tmp_path):
    """The shell's own pipeline, with far more output than a pipe holds."""
    import numpy as np
    from hearth_tools.audio_io import write_wav
    wav = tmp_path / "quiet.wav"
    write_wav(wav, np.zeros(16000 * 30, dtype=np.int16))
    r = subprocess.run("'%s' -m hearth_tools.cli --json detect '%s' -m okay_nabu --steps | head -c1 >/dev/null;"
                       " echo ${PIPESTATUS[0]}" % (sys.executable, wav), shell=True, executable="/bin/bash",
                       capture_output=True, text=True, timeout=120)
    assert (r.stdout.strip(), r.stderr) == (str(exitcodes.BROKEN_PIPE), "")


# -- boot --no-run is a dry run ---------------------------------------------
def test_boot_no_run_changes_no_state(dev, tmp_path):
    st = provisioned(dev, tmp_path / "st", install=True)
    state = os.path.join(st, "boot", "state.json")
    before = open(state, "rb").read()
    runs = [boot_cli("boot", "--no-run", "--json", "--storage", st) for _ in range(4)]  # > max_attempts
    assert open(state, "rb").read() == before
    for rc, out, err in runs:
        assert rc == 0, err
        d = json.loads(out)
        assert (d["slot"], d["trial"], d["version"], d["dry_run"]) == ("a", True, "1.0.0", True)
    s = json.loads(boot_cli("status", "--json", "--storage", st)[1])
    assert (s["pending"], s["attempts"]) == ("a", 0)
    assert not os.path.exists(os.path.join(st, "boot", "run")) or not os.listdir(os.path.join(st, "boot", "run"))


def test_app_json_failure_prints_a_json_object(tmp_path):
    r = subprocess.run([sys.executable, "-m", "hearth", "--board", "nosuch", "--json", "--storage",
                        str(tmp_path / "st")], capture_output=True, text=True, timeout=60)
    assert r.returncode == exitcodes.USAGE and r.stderr.count("\n") == 1, r.stderr
    d = json.loads(r.stdout)
    assert d["ok"] is False and d["exit_code"] == exitcodes.USAGE and "nosuch" in d["error"]


def test_boot_no_run_on_storage_never_initialized_writes_nothing(tmp_path):
    st = tmp_path / "typo"
    rc, out, err = boot_cli("boot", "--no-run", "--storage", str(st))
    assert rc == exitcodes.FAILURE and "not initialized" in err and err.count("\n") == 1, (rc, err)
    assert not st.exists()                           # not even boot/.lock


def test_boot_no_run_reports_recovery_without_the_console(dev, tmp_path):
    st = provisioned(dev, tmp_path / "st")
    rc, out, err = boot_cli("boot", "--no-run", "--storage", st, stdin="install %s\nboot\n" % dev.image)
    assert rc == exitcodes.RECOVERY
    assert "recovery" in out and "hearth recovery" not in out
    assert json.loads(boot_cli("status", "--json", "--storage", st)[1])["pending"] is None


# -- library modules as sub-commands ----------------------------------------
def test_models_golden_loopcost_feature_levels_are_subcommands(capsys):
    parser = cli.build_parser()
    for name in ("models", "golden", "loopcost", "feature-levels"):
        with pytest.raises(SystemExit) as e:
            parser.parse_args([name, "--help"])
        assert e.value.code == 0
    capsys.readouterr()
    rc, out, err = hearth(capsys, "--json", "models", "verify")
    assert rc == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["model"] for r in rows} >= {"okay_nabu", "alexa"} and all(r["ok"] for r in rows)


def test_golden_out_mistake_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    rc, out, err = hearth(capsys, "golden", "quant_shape", "--out", str(tmp_path / "file"))
    assert rc == exitcodes.USAGE and err.count("\n") == 1 and "file" in err


def test_golden_subcommand_writes_what_is_checked_in(tmp_path, capsys):
    rc, out, err = hearth(capsys, "golden", "quant_shape", "--out", str(tmp_path))
    assert rc == 0, err
    want = os.path.join(ROOT, "tests", "golden", "ops_quant_shape")
    assert sorted(os.listdir(tmp_path)) == sorted(os.listdir(want))
    for name in os.listdir(want):
        with open(os.path.join(want, name), "rb") as f:
            assert (tmp_path / name).read_bytes() == f.read(), name


def test_loopcost_subcommand(capsys):
    rc, out, err = hearth(capsys, "--json", "loopcost", "--opcodes", "--blocks", "20")
    assert rc == 0, err
    r = json.loads(out)
    assert r["bytecodes_per_block"] > r["detector_glue"] > 0
    rc, out, err = hearth(capsys, "loopcost", "--blocks", "0")
    assert rc == exitcodes.USAGE and err.count("\n") == 1


def test_feature_levels_subcommand(capsys):
    rc, out, err = hearth(capsys, "--json", "feature-levels", "--seconds", "3")
    assert rc == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {"input", "median", "min", "max"} <= set(rows[0])
    assert any(r["input"] == "digital silence" for r in rows)


# -- colour: rich on a terminal only, never with NO_COLOR ---------------------
class _Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tty,no_color,coloured", [(True, None, True), (True, "1", False),
                                                   (False, None, False), (True, "", True)])
def test_error_prefix_colour_only_on_a_tty(monkeypatch, tty, no_color, coloured):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    if no_color is not None:
        monkeypatch.setenv("NO_COLOR", no_color)
    err = _Tty() if tty else io.StringIO()
    out = cli.Output(stream=io.StringIO(), err=err)
    out.fail("it broke: fix it", exitcodes.USAGE)
    text = err.getvalue()
    assert ("\x1b[" in text) == (coloured and no_color != "1")
    if "\x1b[" in text:        # the prefix is coloured, the message is plain
        assert text.endswith("\x1b[0m it broke: fix it\n")
    assert re.sub(r"\x1b\[[0-9;]*m", "", text) == "hearth: error: it broke: fix it\n"


def test_a_bug_is_one_line_and_exit_70_unless_debug(monkeypatch, capsys, tmp_path):
    from hearth.boot import __main__ as boot_main
    from hearth_tools.commands import demo

    def broken(*_a):
        raise RuntimeError("kaput")
    monkeypatch.setattr(demo, "run", broken)
    rc, out, err = hearth(capsys, "--json", "demo")
    assert rc == exitcodes.INTERNAL and err == "hearth: internal error: RuntimeError: kaput (rerun with --debug)\n"
    assert json.loads(out)["exit"] == "INTERNAL"
    with pytest.raises(RuntimeError):
        cli.main(["demo", "--debug"])
    monkeypatch.setattr(boot_main, "_command", broken)
    assert boot_main.main(["status", "--storage", str(tmp_path)]) == exitcodes.INTERNAL
    assert capsys.readouterr().err.startswith("hearth.boot: internal error: RuntimeError: kaput")
    with pytest.raises(RuntimeError):
        boot_main.main(["--debug", "status", "--storage", str(tmp_path)])
