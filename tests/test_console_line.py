"""The console's line discipline as a terminal program sees it, over the sim pty:
CR, CRLF and LF end a line; keys are echoed; Backspace erases; Ctrl-C
cancels; errors quote the line with control characters escaped."""
import os
import select
import time

import pytest

from hearth.console import PtyConsole, make_shell
from console_util import app  # noqa: F401  (the fixture)

PROMPT = b"hearth> "


class Term:
    """The far end of the console pty, as screen or picocom opens it."""

    def __init__(self, con):
        self.con = con
        self.fd = os.open(con.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)

    def send(self, data, prompts=1, until=PROMPT, timeout=10.0):
        """Type `data`; poll the console until `until` came back `prompts`
        times (the timeout only stops a broken console hanging the test)."""
        os.write(self.fd, data)
        buf = b""
        end = time.monotonic() + timeout
        while buf.count(until) < prompts and time.monotonic() < end:
            self.con.poll()
            if select.select([self.fd], [], [], 0.01)[0]:
                buf += os.read(self.fd, 65536)
        return buf

    def close(self):
        os.close(self.fd)


@pytest.fixture
def term(app):
    con = PtyConsole(make_shell(app))
    t = Term(con)
    yield t
    t.close()
    con.close()


def test_cr_crlf_and_lf_each_end_one_line(term):
    out = term.send(b"status\r", prompts=1)
    assert b"mode: CONSTRAINED" in out, out
    out = term.send(b"status\r\nstatus\nstatus\r", prompts=3)
    assert out.count(b"mode: CONSTRAINED") == 3, out
    out = term.send(b"help\r", prompts=1)                   # the LF of a CRLF split across reads
    out += term.send(b"\nstatus\r\n", prompts=1)
    assert out.count(PROMPT) == 2 and term.con.lines == 6, (out, term.con.lines)


def test_keys_are_echoed_with_the_line_end_as_crlf(term):
    out = term.send(b"stat", until=b"stat")
    assert out == b"stat", out
    out = term.send(b"us\r", prompts=1)
    assert out.startswith(b"us\r\nmode: "), out


@pytest.mark.parametrize("key", [b"\x7f", b"\x08"])
def test_backspace_erases_the_last_character(term, key):
    out = term.send(b"statuz" + key + b"s\r", prompts=1)
    assert out.startswith(b"statuz\b \bs\r\nmode: "), out


def test_backspace_erases_a_whole_utf8_character_and_a_control_shown_as_caret(term):
    out = term.send("x\u00e9".encode() + b"\x7f\x7f\x01\x7fstatus\r", prompts=1)
    assert b"mode: " in out and b"error" not in out, out
    assert "x\u00e9\b \b\b \b^A\b \b\b \bstatus".encode() in out, out


def test_ctrl_c_cancels_the_line(term, app):
    out = term.send(b"oven start\x03", prompts=1)
    assert out == b"oven start^C\r\n" + PROMPT, out
    assert term.con.lines == 0 and not app.status()["cooking"]
    out = term.send(b"status\r", prompts=1)
    assert out.startswith(b"status\r\nmode: "), out


def test_errors_quote_the_line_with_control_characters_escaped(term):
    out = term.send(b"sta\x1b[2Jtus\r", prompts=1)
    assert b"\x1b" not in out, out                          # the echo shows it as ^[
    assert b"error: unknown command 'sta\\x1b[2Jtus' (try help)" in out, out
    out = term.send(b"\xff\xfeoops\r", prompts=1)
    assert b"error: line is not UTF-8: '\\xff\\xfeoops'" in out, out


def test_overlong_line_is_reported_at_its_end(term):
    out = term.send(b"x" * 2000 + b"\r", prompts=1)
    assert b"error: line longer than 512 bytes dropped" in out, out[-200:]
    assert out.count(b"x") < 600, "echo stops when the line is full"
    assert b"mode: " in term.send(b"status\r", prompts=1)


def test_smp_frames_are_not_echoed_and_go_to_the_frame_hook(app):
    frames = []
    con = PtyConsole(make_shell(app), smp_handler=lambda f: frames.append(f) or b"\x06\x09REPLY\n")
    t = Term(con)
    try:
        out = t.send(b"\x06\x09AAEC\n\x04\x14BBB\r\nstatus\r", prompts=1)
        assert frames == [b"\x06\x09AAEC", b"\x04\x14BBB"] and con.smp_frames == 2, frames
        # keys are echoed as they arrive, the replies follow in order
        assert out.startswith(b"status\r\n\x06\x09REPLY\n\x06\x09REPLY\nmode: "), out
        out = t.send(b"\x06x\r", prompts=1)                  # 0x06 alone: an ordinary control key
        assert out.startswith(b"^Fx\r\nerror: unknown command '\\x06x'"), out
    finally:
        t.close()
        con.close()


def test_a_log_record_goes_above_the_prompt_and_the_half_typed_line(term, app):
    term.con.poll()
    app.log.sinks.append(term.con.log_sink)
    term.send(b"help\r")
    out = term.send(b"door op", until=b"door op")
    app.log.emit(app.t, 20, "input", "door open")
    out = term.send(b"", until=b"door op")
    assert out == b"\r\x1b[K[     0.00] INFO  input    door open\r\nhearth> door op", out
    out = term.send(b"en\r")
    assert out.startswith(b"en\r\ndoor opened\r\n"), out
