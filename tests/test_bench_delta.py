"""`hearth bench delta`: it runs (--quick, one small pair), writes its section
with --write-doc (to a temporary copy of docs/BENCHMARKS.md), checks every
tool's output against the new file, and measures the applier's own memory."""
import os
import sys

from hearth_tools.bench import _delta_pairs, _delta_tools, delta

from test_bench_smoke import doc, run_cli, written  # noqa: F401  (doc is a fixture)

PEERS = ["xdelta3", "bsdiff", "zstd", "detools", "hdiffpatch"]


def test_quick_delta_bench_writes_its_section(doc):
    (r,) = run_cli("bench", "delta", "--quick", "--write-doc", doc=doc)
    assert r["pair"] == "okay_nabu" and r["category"] == "model"
    for name in PEERS:
        t = r["tools"][name]
        assert t["ok"], (name, t.get("error"))
        assert 0 < t["patch_size"] < r["new_size"] and t["apply_s"] > 0 and t["peak_rss"] > 0
    for name in ("detools", "hdiffpatch"):          # Python appliers: an idle baseline near the peak
        t = r["tools"][name]                         # (on a 60 KB pair the apply adds little; pages vary)
        assert t["peak_rss"] / 2 < t["idle_rss"] < t["peak_rss"] + (1 << 20), t
    assert r["best_peer"] in PEERS
    assert r["best_peer_size"] == min(r["tools"][n]["patch_size"] for n in PEERS)
    text = written(doc, "delta", "hearth bench delta --quick --write-doc")
    assert "Patch bytes" in text and "Apply peak RSS" in text and "okay_nabu" in text
    hearth = r["tools"].get("hearth")
    if hearth is None:                               # never a made-up figure for hearth
        assert r["hearth_to_best_peer"] is None and "hearth: not available" in text
    else:
        assert hearth["ok"], hearth.get("error")
        assert r["hearth_to_best_peer"] == hearth["patch_size"] / r["best_peer_size"]


def _pair(tmp_path, old, new):
    return _delta_pairs.Pair("t", "test", "test pair", lambda cache: [old, new]), str(tmp_path / "cache")


def test_an_output_that_differs_from_the_new_file_fails_the_tool(tmp_path):
    pair, cache = _pair(tmp_path, b"old contents\n" * 50, b"new contents\n" * 50)
    good = _delta_tools.Tool("good", ["cp"], ["cp", "{new}", "{patch}"], ["cp", "{patch}", "{out}"], "coreutils")
    bad = _delta_tools.Tool("bad", ["cp"], ["cp", "{new}", "{patch}"], ["cp", "{old}", "{out}"], "coreutils")
    crash = _delta_tools.Tool("crash", ["false"], ["cp", "{new}", "{patch}"], ["false"], "coreutils")
    work = tmp_path / "work"
    work.mkdir()
    res = delta.measure_pair(pair, [good, bad, crash], 2, cache, str(work))
    assert res["good"]["ok"] and res["good"]["patch_size"] == 650
    assert not res["bad"]["ok"] and "output differs from the new file" in res["bad"]["error"]
    assert not res["crash"]["ok"] and res["crash"]["error"].startswith("apply: exit 1")
    row = delta.summarize(pair, 650, 650, res)
    assert row["best_peer"] == "good" and row["hearth_to_best_peer"] is None
    assert not [f for f in os.listdir(work) if f.endswith(".out")]       # outputs removed


def test_peak_rss_is_the_applier_s_own():
    """A tiny child is not charged this interpreter's memory; a large one's
    allocation shows in full."""
    alloc = [sys.executable, "-c", "b = bytearray(64 << 20); b[::4096] = b'x' * len(b[::4096])"]
    _, small, _ = _delta_tools.run_child(["true"])
    _, big, _ = _delta_tools.run_child(alloc)
    assert small < 8 << 20, small
    assert big > 64 << 20, big


def test_a_wheel_becomes_the_same_tar_every_time(tmp_path):
    """Python pairs are wheels repacked as tars: sorted, the wheel's own
    timestamps, no owner, so a rerun measures the very same bytes."""
    import io
    import tarfile
    import zipfile
    whl = tmp_path / "x-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr(zipfile.ZipInfo("pkg/b.py", (2024, 5, 6, 7, 8, 10)), b"b = 2\n")
        z.writestr(zipfile.ZipInfo("pkg/a.py", (2024, 5, 6, 7, 8, 10)), b"a = 1\n")
        z.writestr(zipfile.ZipInfo("x-1.0.dist-info/METADATA", (2024, 5, 6, 7, 8, 10)), b"Name: x\n")
    first = _delta_pairs._tar(str(whl))
    assert first == _delta_pairs._tar(str(whl))
    with tarfile.open(fileobj=io.BytesIO(first)) as t:
        members = t.getmembers()
        assert [m.name for m in members] == ["pkg/a.py", "pkg/b.py", "x-1.0.dist-info/METADATA"]
        assert {(m.mtime, m.uid, m.uname) for m in members} == {(1714979290, 0, "")}
        assert t.extractfile("pkg/a.py").read() == b"a = 1\n"
    with tarfile.open(fileobj=io.BytesIO(_delta_pairs._tar(str(whl), "pkg/"))) as t:
        assert t.getnames() == ["pkg/a.py", "pkg/b.py"]


def test_a_tool_that_hangs_is_ended_with_its_time_out(tmp_path):
    """The tool runs under GNU time: the time-out ends the tool itself too."""
    import pytest
    pid_file = tmp_path / "pid"
    with pytest.raises(_delta_tools.ToolFailed, match="timed out after 1 s"):
        _delta_tools.run_child(["sh", "-c", "echo $$ > %s; exec sleep 60" % pid_file], timeout=1)
    pid = int(pid_file.read_text())
    try:
        os.waitpid(pid, os.WNOHANG)          # not our child: only reaps if it were
    except ChildProcessError:
        pass
    state = open("/proc/%d/stat" % pid).read().split()[2] if os.path.exists("/proc/%d" % pid) else "gone"
    assert state in ("gone", "Z"), state
