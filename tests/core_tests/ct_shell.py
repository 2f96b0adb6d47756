import json

from hearth.core.shell import LineSplitter, Shell, CommandError, tokenize
from ct_util import raises


def test_tokenize_quotes():
    assert tokenize('inject "my file.wav"  --json') == ["inject", "my file.wav", "--json"]
    assert tokenize("say 'okay nabu'") == ["say", "okay nabu"]
    assert tokenize("a '' b") == ["a", "", "b"]
    raises(ValueError, tokenize, 'say "oops')


def test_splitter_lines_and_smp_frames():
    s = LineSplitter()
    out = s.feed(b"sta")
    assert out == []
    out = s.feed(b"tus\r\n\x06\x09AAEC\n\x04\x14BBB\nlog")
    assert out[0] == ("line", "status")
    assert out[1] == ("smp", b"\x06\x09AAEC")
    assert out[2] == ("smp", b"\x04\x14BBB")
    assert len(out) == 3
    assert s.feed(b" debug\n") == [("line", "log debug")]


def test_splitter_bounds_and_bad_utf8():
    s = LineSplitter(max_line=8)
    out = s.feed(b"0123456789abcdef\nok\n")
    assert out[0][0] == "error"
    assert out[1] == ("line", "ok")
    assert s.feed(b"\xff\xfe\n")[0][0] == "error"


def test_shell_dispatch_json_and_errors():
    sh = Shell()

    def echo(args):
        if not args:
            raise CommandError("nothing to echo")
        return {"words": args}, " ".join(args)

    def num(args):
        return int(args[0]), str(int(args[0]))

    sh.add("echo", echo, "WORDS", "say it back")
    sh.add("num", num, "N", "a number")
    assert sh.execute("echo hi there") == (True, "hi there")
    ok, out = sh.execute("echo hi --json")
    assert ok and json.loads(out) == {"ok": True, "command": "echo", "result": {"words": ["hi"]}}
    ok, out = sh.execute("echo")
    assert not ok and out == "error: nothing to echo"
    ok, out = sh.execute("num x")
    assert not ok and "usage: num N" in out
    ok, out = sh.execute("nope --json")
    assert not ok and json.loads(out)["ok"] is False
    assert sh.execute("") == (True, "")
    ok, out = sh.execute("help")
    assert ok and "echo WORDS" in out
    ok, out = sh.execute('echo "unterminated')
    assert not ok
