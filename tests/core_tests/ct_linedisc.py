from hearth.core.linedisc import LineDiscipline


def _disc(max_line=512):
    echoed = []
    return LineDiscipline(echo=echoed.append, max_line=max_line), echoed


def test_cr_lf_and_crlf_each_end_one_line():
    d, _ = _disc()
    assert d.feed(b"a\rb\nc\r\nd") == [("line", "a"), ("line", "b"), ("line", "c")]
    assert d.feed(b"\r") == [("line", "d")]
    assert d.feed(b"\ne\r\r\n") == [("line", "e"), ("line", "")]     # the split CRLF is one end


def test_echo_edit_and_cancel():
    d, echoed = _disc()
    assert d.feed(b"statuz\x7fs\x08s\r") == [("line", "status")]
    assert b"".join(echoed) == b"statuz\b \bs\b \bs\r\n"
    del echoed[:]
    assert d.feed(b"oven start\x03") == [("cancel", None)]
    assert b"".join(echoed) == b"oven start^C\r\n"
    del echoed[:]
    out = d.feed("x\u00e9".encode() + b"\x7f\x01\x7f\x7f\x7f\tok\r")
    assert out == [("line", "\tok")]
    assert b"".join(echoed) == "x\u00e9".encode() + b"\b \b^A\b \b\b \b\b \b ok\r\n"


def test_smp_frames_pass_whole_without_echo():
    d, echoed = _disc()
    out = d.feed(b"sta")
    assert out == []
    out = d.feed(b"tus\r\n\x06\x09AA\x7fEC\n\x04")
    assert out == [("line", "status"), ("frame", b"\x06\x09AA\x7fEC")]
    assert d.feed(b"\x14BBB\r\nlog") == [("frame", b"\x04\x14BBB")]
    assert b"".join(echoed) == b"status\r\nlog"
    assert d.feed(b"\x03\x06x\r") == [("cancel", None), ("line", "\x06x")]    # not a frame after all


def test_overlong_and_bad_utf8_lines_are_errors():
    d, echoed = _disc(max_line=8)
    out = d.feed(b"0123456789abcdef\nok\n")
    assert out[0][0] == "error" and "longer than 8" in out[0][1] and "'01234567'" in out[0][1]
    assert out[1] == ("line", "ok")
    assert b"".join(echoed) == b"01234567\x07\r\nok\r\n"
    out = d.feed(b"\xff\xfe\n")
    assert out == [("error", "line is not UTF-8: '\\xff\\xfe'")]


def test_without_echo_nothing_is_said():
    d = LineDiscipline()
    assert d.feed(b"a\x7fb\r") == [("line", "b")]
