import json

from hearth.core.shell import Shell, CommandError, printable, quote, tokenize
from ct_util import raises


def test_tokenize_quotes():
    assert tokenize('inject "my file.wav"  --json') == ["inject", "my file.wav", "--json"]
    assert tokenize("say 'okay nabu'") == ["say", "okay nabu"]
    assert tokenize("a '' b") == ["a", "", "b"]
    raises(ValueError, tokenize, 'say "oops')


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
    assert not ok and out == "error: unterminated quote in 'echo \"unterminated'"


def test_any_exception_in_a_command_is_an_error_reply():
    sh = Shell()

    def bad(args):
        return {}["missing"], ""

    def overflow(args):
        return int(float(args[0]) * 1e300 * 1e300), ""

    sh.add("bad", bad, "", "a command with a bug")
    sh.add("big", overflow, "X", "overflows")
    ok, out = sh.execute("bad")
    assert not ok and out.startswith("error: 'bad' failed: KeyError") and "\n" not in out
    ok, out = sh.execute("big 1 --json")
    assert not ok and "OverflowError" in json.loads(out)["error"]


def test_errors_quote_the_line_with_controls_escaped():
    sh = Shell()
    ok, out = sh.execute("sta\x1b[2Jtus")
    assert not ok and out == "error: unknown command 'sta\\x1b[2Jtus' (try help)"

    def raw(args):
        raise CommandError("bad name " + args[0])     # a message that carries input as is

    sh.add("raw", raw, "NAME", "")
    ok, out = sh.execute("raw a\x07b\x9bc")
    assert out == "error: bad name a\\x07b\\x9bc"


def test_quote_and_printable():
    assert quote("it's \\ ok") == "'it\\'s \\\\ ok'"
    assert quote(b"\xff\xfeA\r") == "'\\xff\\xfeA\\r'"
    assert quote("\u00e9t\u00e9\u202e") == "'\u00e9t\u00e9\\u202e'"
    assert quote("x" * 100, 4) == "'xxxx...'"
    assert printable("a\nb\tc\x1b", keep="\n\t") == "a\nb\tc\\x1b"
    assert printable("a\nb") == "a\\nb"
