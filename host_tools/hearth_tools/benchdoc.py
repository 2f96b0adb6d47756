"""Keep docs/BENCHMARKS.md: one section per benchmark, replaced in place.

HEARTH_BENCH_DOC=PATH makes `--write-doc` write to PATH instead (the smoke
test writes to a temporary copy, never to the real document)."""
import os
import re

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "BENCHMARKS.md")
ENV = "HEARTH_BENCH_DOC"
HEADER = ("# Benchmarks\n\nEach section is the latest output of the command named in it, "
          "run on the development machine (2 cores, x86_64). Ratios compare peers measured "
          "in the same run.\n")


def doc_path():
    """The document --write-doc updates: $HEARTH_BENCH_DOC, else docs/BENCHMARKS.md."""
    return os.path.abspath(os.environ.get(ENV) or DOC)


def write_section(name, command, body, path=None):
    """Replace (or append) the section for benchmark `name`."""
    path = os.path.abspath(path) if path else doc_path()
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else HEADER
    start, end = "<!-- bench:%s -->" % name, "<!-- /bench:%s -->" % name
    section = "%s\n## %s\n\nCommand: `%s`\n\n```\n%s\n```\n%s" % (start, name, command, body.rstrip(), end)
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def emit_rows(out, args, name, command, rows, text):
    """A benchmark's result: one JSON object per row with --json, else the
    text; with --write-doc also the text as its section in BENCHMARKS.md."""
    if args.json:
        for r in rows:
            out.data(r)
    else:
        out.data(None, text)
    if getattr(args, "write_doc", False):
        write_section(name, command, text)
