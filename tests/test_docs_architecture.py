"""docs/ARCHITECTURE.md stays true as the tree moves: every repository path
it names in backticks exists, its links resolve, and its examples run.

A backticked word is taken for a path when its first component is a
top-level entry of the repository (`firmware/...`, `tests/...`), when it is
a doc name (`OTA.md`), or when it is a bare file name (`governor.py`, which
must then exist somewhere in the tree). `<name>` stands for a name still to
choose (its parent must exist); `*` and `**` are globs (they must match).
Planned paths are written in italics, not backticks, so they are not checked.
"""
import glob
import os
import re
import tempfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DOC = os.path.join(ROOT, "docs", "ARCHITECTURE.md")
TOP = set(os.listdir(ROOT)) - {".git", ".venv", "build"}
SOURCE_DIRS = ("firmware", "native", "host_tools", "tests", "boards", "docs", "models")

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
TICKED = re.compile(r"`([^`\n]+)`")
PATHLIKE = re.compile(r"^[\w.\-/*<>]+$")
LINK = re.compile(r"\]\(([^)#\s]+)\)")


def _text():
    with open(DOC, encoding="utf-8") as f:
        return f.read()


def _prose():
    return FENCE.sub("", _text())


def _blocks(lang):
    return [body for info, body in FENCE.findall(_text()) if info == lang]


def _exists(token):
    if "<" in token:                # a name to choose: its directory must exist
        return os.path.isdir(os.path.join(ROOT, token.split("<")[0].rsplit("/", 1)[0]))
    if "*" in token:
        return bool(glob.glob(os.path.join(ROOT, token), recursive=True))
    return os.path.exists(os.path.join(ROOT, token.rstrip("/")))


def _found_in_tree(name):
    return any(glob.glob(os.path.join(ROOT, d, "**", name), recursive=True) for d in SOURCE_DIRS)


def paths_named():
    """(token, where it should be) for every backticked word that looks like a path."""
    out = []
    for token in TICKED.findall(_prose()):
        if not PATHLIKE.match(token):
            continue
        first = token.split("/")[0]
        if first in TOP:
            out.append((token, token))
        elif "/" not in token and re.match(r"^[A-Z_]+\.md$", token):
            out.append((token, "docs/" + token))
        elif "/" not in token and re.match(r"^\w+\.(py|c|h|toml|cdef)$", token):
            out.append((token, None))
    return out


def test_the_doc_names_paths():
    # a broken pattern would make the next test pass on nothing
    assert len(paths_named()) >= 40


def test_every_path_in_the_doc_exists():
    missing = []
    for token, path in paths_named():
        ok = _found_in_tree(token) if path is None else _exists(path)
        if not ok:
            missing.append(token)
    assert not missing, ("docs/ARCHITECTURE.md names paths that do not exist: %s "
                         "(update the doc, or write a planned path in *italics*)" % ", ".join(missing))


def test_every_link_in_the_doc_resolves():
    links = [l for l in LINK.findall(_prose()) if "://" not in l]
    assert len(links) >= 10
    missing = [l for l in links if not os.path.exists(os.path.join(ROOT, "docs", l))]
    assert not missing, "docs/ARCHITECTURE.md links to missing files: %s" % ", ".join(missing)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Run an example from a scratch directory holding the doc's board file."""
    tomls = _blocks("toml")
    assert len(tomls) == 1
    (tmp_path / "boards").mkdir()
    (tmp_path / "boards" / "sim-hot.toml").write_text(tomls[0], encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _examples():
    return [b for b in _blocks("python") if "run_tflm" not in b]


def test_the_python_examples_are_found():
    assert len(_examples()) == 3 and len(_blocks("python")) == 4


@pytest.mark.parametrize("n", range(3))
def test_python_example_runs(n, scratch):
    code = _examples()[n]
    exec(compile(code, "docs/ARCHITECTURE.md example %d" % (n + 1), "exec"), {"__name__": "__example__"})


def test_kernel_example_checks_a_kernel_the_tree_refuses_by_name(scratch):
    """The kernel example's check runs; until someone adds RELU it stops where
    the doc says it does (then this test says to update the doc)."""
    from hearth.native_errors import NNError
    code = [b for b in _blocks("python") if "run_tflm" in b][0]
    try:
        exec(compile(code, "docs/ARCHITECTURE.md kernel example", "exec"), {"__name__": "__example__"})
    except NNError as e:
        assert e.name == "HNN_E_UNSUPPORTED_OP" and "RELU" in str(e), e
    else:
        pytest.fail("RELU is supported now: docs/ARCHITECTURE.md's kernel example needs an op the tree lacks")
