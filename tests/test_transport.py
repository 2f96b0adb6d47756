"""Host transports and the console operations over them.

Against a real `hearth sim` (its own process, a real pty), and against a
small device in the test that serves hearth.core.shell's real command table
over a pty pair or a loopback TCP socket, with and without echo and with
LF or CRLF line ends - the variations a UART console shows in the field.
"""
import errno
import os
import select
import signal
import socket
import threading
import tty

import pytest

from hearth.core.shell import Shell
from hearth_tools import device
from hearth_tools.errors import EXIT_DEVICE, EXIT_FAILURE, UsageError
from hearth_tools.transport import (DeviceUnreachable, PtyTransport, SerialTransport, SimTransport,
                                    TransportTimeout, open_transport, transport_for)


# -- a real sim board ------------------------------------------------------------

@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    con = device.connect("sim:", storage=str(tmp_path_factory.mktemp("sim")))
    yield con
    con.close()
    assert con.transport.proc.poll() is not None


def test_sim_status_json_and_text(sim):
    st = sim.status()
    assert st["board"] == "sim" and st["mode"] in ("FULL", "CONSTRAINED")
    text = sim.command("status")
    assert text.startswith("mode: %s" % st["mode"]) and "actuators: heater=" in text
    assert "hearth> " not in text and "status" not in text.splitlines()     # no prompt, no echo
    assert {"status", "oven", "press", "door"} <= set(sim.commands())


def test_sim_commands_change_the_device(sim):
    assert sim.call("oven", "setpoint", 150) == {"action": "setpoint", "result": "setpoint 150 C"}
    assert sim.status()["setpoint_c"] == 150
    assert sim.command("door open") == "door opened"
    assert sim.status()["door_open"] is True
    sim.command("door close")


def test_sim_error_reply_is_device_error(sim):
    with pytest.raises(device.DeviceError) as e:
        sim.command("oven bogus")
    assert e.value.message.startswith("usage: oven start|stop") and e.value.line == "oven bogus"
    assert e.value.exit_code == EXIT_FAILURE and "\n" not in str(e.value)
    with pytest.raises(device.DeviceError) as e:
        sim.call("nosuchcommand")
    assert e.value.message == "unknown command 'nosuchcommand' (try help)"
    with pytest.raises(device.DeviceError, match="refused: "):
        sim.call("oven", "setpoint", 9999)
    assert sim.status()["board"] == "sim"      # the console carries on after errors


def test_sim_half_typed_line_from_a_previous_user(tmp_path):
    with SimTransport(storage=str(tmp_path)) as t:
        t.write(b"oven sta")            # someone typed and walked away
        con = device.Console(t)
        assert con.status()["board"] == "sim"
        assert any("oven sta" in l for l in con.log_lines)     # its reply is kept, not taken as ours


def test_sim_hung_is_killed_on_close(tmp_path):
    with SimTransport(storage=str(tmp_path), stop_timeout=0.5) as t:
        assert device.Console(t).status()["board"] == "sim"   # its loop runs: SIGTERM is handled
        t.proc.send_signal(signal.SIGSTOP)  # a wedged device: its handler never runs
        t.close()
        assert t.proc.returncode == -signal.SIGKILL


def test_sim_wrong_prompt_times_out(sim):
    con = device.Console(sim.transport, prompt="nope> ", timeout=0.3)
    with pytest.raises(TransportTimeout) as e:
        con.command("help")
    assert "no reply from sim board" in str(e.value) and "\n" not in str(e.value)
    assert b"hearth> " in e.value.partial
    sim.sync()      # the reply that did arrive is still buffered; a fresh prompt drops it
    assert sim.status()["board"] == "sim"


def test_sim_gone_is_unreachable_and_close_stops_it(tmp_path):
    t = SimTransport(storage=str(tmp_path))
    with device.Console(t.open()) as con:
        assert con.status()["board"] == "sim"
        t.proc.kill()
        t.proc.wait()
        with pytest.raises(DeviceUnreachable, match="went away"):
            con.status()
    assert not t.is_open and t.proc.poll() is not None
    with open_transport("sim:", storage=str(tmp_path)) as t:
        proc = t.proc
    assert not t.is_open
    # SIGTERM stops it (0 once the sim's handler is installed; it installs it only after
    # printing the console path, so a prompt close can still meet the default action)
    assert proc.returncode in (0, -signal.SIGTERM)


def test_sim_bad_board_is_one_line(tmp_path):
    with pytest.raises(DeviceUnreachable) as e:
        open_transport("sim:nosuchboard", storage=str(tmp_path))
    msg = str(e.value)
    assert "the sim did not start" in msg and "no such board" in msg and "\n" not in msg


# -- a device in the test: the real shell table behind a minimal console ---------

class FakeConsole:
    """Serves hearth.core.shell.Shell over a byte link the way the device
    console does: optional echo, replies then the prompt, `eol` line ends."""

    def __init__(self, read, write, fileno, echo, eol):
        self.read, self.write, self.fileno = read, write, fileno
        self.echo, self.eol = echo, eol
        self.shell = Shell()
        self.shell.add("status", lambda a: ({"board": "fake", "mode": "FULL"}, "mode: FULL\nboard: fake"),
                       "", "status")
        self.shell.add("quiet", lambda a: (None, ""), "", "no output")
        self.before_reply = b""         # sent ahead of the next echo (a log line in flight)
        self.delay = 0.0                # seconds to sit on the next reply (a busy device)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _send(self, text):
        self.write(text.replace("\n", "\r\n" if self.eol == b"\r\n" else "\n").encode())

    def _run(self):
        buf = b""
        while not self.stop.is_set():
            if not select.select([self.fileno], [], [], 0.02)[0]:
                continue
            try:
                data = self.read()
            except OSError as e:
                if e.errno == errno.EIO:        # no host on the pty right now
                    self.stop.wait(0.02)
                    continue
                raise
            if not data:
                return
            buf += data
            lines = []
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                lines.append(raw.rstrip(b"\r").decode())
            if lines and self.before_reply:
                self.write(self.before_reply)
                self.before_reply = b""
            if self.echo:       # like the device's line discipline: all that arrived, then the replies
                for line in lines:
                    self._send(line + "\n")
            for line in lines:
                ok, out = self.shell.execute(line)
                if self.delay:
                    self.stop.wait(self.delay)
                    self.delay = 0.0
                self._send((out + "\n" if out else "") + "hearth> ")

    def close(self):
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def pty_device(request):
    master, slave = os.openpty()
    tty.setraw(slave)
    echo, eol = request.param
    fake = FakeConsole(lambda: os.read(master, 4096), lambda b: os.write(master, b), master, echo, eol)
    yield fake, os.ttyname(slave)
    fake.close()
    os.close(master)
    os.close(slave)


@pytest.fixture
def tcp_device(request):
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(10)          # a test that never connects does not leave accept() waiting
    port = srv.getsockname()[1]
    echo, eol = request.param
    conns = []
    ready = threading.Event()
    holder = {}

    def accept():
        try:
            c, _ = srv.accept()
        except OSError:
            return
        conns.append(c)
        holder["conn"] = c
        holder["fake"] = FakeConsole(lambda: c.recv(4096), c.sendall, c.fileno(), echo, eol)
        ready.set()
    th = threading.Thread(target=accept, daemon=True)
    th.start()
    yield holder, ready, "socket://127.0.0.1:%d" % port
    if "fake" in holder:
        holder["fake"].close()
    for c in conns:
        c.close()
    srv.close()
    th.join(5)


VARIANTS = [(True, b"\r\n"), (False, b"\r\n"), (True, b"\n"), (False, b"\n")]
IDS = ["echo-crlf", "noecho-crlf", "echo-lf", "noecho-lf"]


def _exercise(con):
    assert con.status() == {"board": "fake", "mode": "FULL"}
    assert con.command("status") == "mode: FULL\nboard: fake"
    assert con.command("quiet") == ""
    with pytest.raises(device.DeviceError) as e:
        con.command("nope")
    assert e.value.message == "unknown command 'nope' (try help)"
    with pytest.raises(device.DeviceError, match="unknown command 'nope'"):
        con.call("nope", "with space")
    assert "status" in con.commands()


@pytest.mark.parametrize("pty_device", VARIANTS, ids=IDS, indirect=True)
def test_serial_transport_on_a_pty_pair(pty_device):
    """pyserial opening the pty slave path: the same class a UART uses."""
    fake, path = pty_device
    with device.Console(SerialTransport(path, timeout=5).open()) as con:
        _exercise(con)


@pytest.mark.parametrize("pty_device", VARIANTS, ids=IDS, indirect=True)
def test_pty_transport_on_a_pty_pair(pty_device):
    fake, path = pty_device
    with device.connect("pty:" + path) as con:
        _exercise(con)
        fake.before_reply = b"[    1.00] INFO  audio    a log line in flight\r\n"
        assert con.command("status") == "mode: FULL\nboard: fake"
        assert con.log_lines[-1].endswith("a log line in flight")


@pytest.mark.parametrize("pty_device", VARIANTS, ids=IDS, indirect=True)
def test_a_late_reply_is_not_taken_for_the_next(pty_device):
    fake, path = pty_device
    with device.Console(PtyTransport(path).open(), timeout=5) as con:
        assert con.command("status") == "mode: FULL\nboard: fake"
        fake.delay = 0.5
        with pytest.raises(TransportTimeout):
            con.command("help", timeout=0.1)
        # the help listing arrives while the host already sends the next command
        assert con.call("quiet") is None
        assert con.command("status") == "mode: FULL\nboard: fake"


@pytest.mark.parametrize("tcp_device", VARIANTS, ids=IDS, indirect=True)
def test_socket_url_through_serial_transport(tcp_device):
    holder, ready, url = tcp_device
    t = transport_for(url, timeout=5)
    assert isinstance(t, SerialTransport)
    assert transport_for(url.replace("socket://", "tcp:")).port == url
    with device.Console(t.open()) as con:
        assert ready.wait(5)
        _exercise(con)


@pytest.mark.parametrize("tcp_device", [(True, b"\r\n")], indirect=True)
def test_peer_closing_the_socket_is_unreachable(tcp_device):
    holder, ready, url = tcp_device
    with device.connect(url) as con:
        assert ready.wait(5) and con.status()["board"] == "fake"
        holder["fake"].close()
        holder["conn"].shutdown(socket.SHUT_RDWR)        # the device end hangs up
        with pytest.raises(DeviceUnreachable, match="the link failed"):
            con.status()


# -- byte level: buffering, timeouts, one-line errors ---------------------------

@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)           # as the device console sets it
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


@pytest.mark.parametrize("cls", [PtyTransport, SerialTransport])
def test_read_until_timeout_keeps_the_bytes(pty_pair, cls):
    master, path = pty_pair
    with cls(path, timeout=0.2) as t:
        os.write(master, b"partial")
        with pytest.raises(TransportTimeout) as e:
            t.read_until(b"\n")
        assert e.value.partial == b"partial" and e.value.exit_code == EXIT_DEVICE
        assert "\n" not in str(e.value) and "longer timeout" in str(e.value)
        os.write(master, b" line\nnext")
        assert t.read_until(b"\n", timeout=5) == b"partial line\n"
        assert t.read(4, timeout=5) == b"next"
        with pytest.raises(TransportTimeout, match="waited for 3 bytes"):
            t.read(3)
        t.write(b"to the device")
        got = b""
        while len(got) < 13 and select.select([master], [], [], 5)[0]:
            got += os.read(master, 100)
        assert got == b"to the device"


def test_pty_keeps_what_the_device_sent_before_open(pty_pair):
    master, path = pty_pair
    os.write(master, b"[    0.00] INFO  boot     early\r\n")
    with PtyTransport(path, timeout=5) as t:
        assert t.read_until(b"\n") == b"[    0.00] INFO  boot     early\r\n"


def test_control_characters_are_never_sent(pty_pair):
    master, path = pty_pair
    with device.connect("pty:" + path) as con:
        for bad in ["status\nreboot", "\x06\x09frame", "a\rb", ""]:
            with pytest.raises(ValueError):
                con.command(bad)
    assert not select.select([master], [], [], 0)[0]     # nothing reached the device


def _unused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("spec,needle", [
    ("/dev/hearth-no-such-port", "check the cable"),
    ("pty:/dev/pts/hearth-none", "no such pty"),
    ("socket://127.0.0.1:%d", "is something listening at 127.0.0.1:"),
])
def test_unreachable_is_one_line(spec, needle):
    if "%d" in spec:
        spec = spec % _unused_port()
    with pytest.raises(DeviceUnreachable) as e:
        open_transport(spec, timeout=1)
    msg = str(e.value)
    assert needle in msg and "\n" not in msg and e.value.exit_code == EXIT_DEVICE


@pytest.mark.parametrize("spec", ["", "bogus:thing", "pty:"])
def test_bad_spec_is_a_usage_error(spec):
    with pytest.raises(UsageError, match="pty:|socket://"):
        transport_for(spec)


def test_bad_url_or_baud_is_a_usage_error(pty_pair):
    with pytest.raises(UsageError, match="bogus"):
        open_transport("bogus://x")
    with pytest.raises(UsageError, match="baud"):
        open_transport(pty_pair[1], baud=-5)


def test_quote_arg_matches_the_device_tokenizer():
    from hearth.core.shell import tokenize
    args = ["plain", "with space", 'say "hi"', "it's", "", "tab\there"]
    line = " ".join(device.quote_arg(a) for a in args)
    assert tokenize(line) == args
    with pytest.raises(ValueError):
        device.quote_arg("both \" and '")
