"""The SMP server on the app's transports, as loop services.

* ConsoleSmp: the console's frame hook (hearth.console.Console frame_handler):
  SMP lines -> Reassembler -> Server; answers go back as framed lines,
  deferred ones through the console's send_bytes from a later turn.
* UdpSmp: SMP over UDP (one packet per datagram, no framing), port 1337 by
  default; a non-blocking socket read a bounded number of times per poll.

build_server(app, shell) makes the Server with every group; attach(app,
console, shell) wires it to a console and adds it to the app's services.
"""
import socket

from . import framing
from .groups import image as image_group
from .groups import os as os_group
from .groups import shell as shell_group
from .groups import stat as stat_group
from .server import BUF_SIZE, Server

UDP_PORT = 1337
UDP_MAX = BUF_SIZE
UDP_PER_POLL = 8
# Groups served over UDP: OS, image, statistics. Not shell exec: SMP has no
# authentication, and the shell starts the oven; the console is a cable away.
UDP_GROUPS = (0, 1, 2)


class ConsoleSmp:
    def __init__(self, server, send=None):
        self.server = server
        self.send = send                # fn(bytes) of the console; set by attach()
        self.frames = framing.Reassembler(server.buf_size)
        self.frame_errors = 0

    def _framed(self, out):
        return lambda packet: out(framing.encode(packet))

    def __call__(self, line):
        """The frame hook: one SMP line in; the framed answer (or None) out."""
        replies = []
        sync = self._framed(replies.append)
        try:
            packet = self.frames.feed(line)
        except framing.FrameError as e:
            self.frame_errors += 1
            self.server.send_frame_error(sync, e)
            return b"".join(replies)
        if packet is None:
            return None
        before = self.server.job
        self.server.handle(packet, sync)
        job = self.server.job
        if job is not None and job is not before and self.send is not None:
            job[2] = self._framed(self.send)    # this request's answer comes from a later poll
        return b"".join(replies) or None


class UdpSmp:
    name = "smp-udp"
    budget_s = 0.002

    def __init__(self, server, host="0.0.0.0", port=UDP_PORT, groups=UDP_GROUPS):
        self.server = server
        self.groups = groups
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind((host, port))
        self.address = self.sock.getsockname()

    def _sender(self, addr):
        def send(packet):
            try:
                self.sock.sendto(packet, addr)
            except OSError:
                pass                    # the client went away: nothing to tell it
        return send

    def poll(self, now=None, budget=None):
        for _ in range(UDP_PER_POLL):
            try:
                data, addr = self.sock.recvfrom(UDP_MAX + 1)
            except OSError:
                return
            send = self._sender(addr)
            if len(data) > UDP_MAX:
                from .errors import EMSGSIZE
                self.server.send_frame_error(send, framing.FrameError(
                    EMSGSIZE, "datagram larger than the %d-byte buffer" % UDP_MAX, data[:8]))
                continue
            self.server.handle(data, send, groups=self.groups)

    def close(self):
        self.sock.close()


def build_server(app, shell, storage_root=None, launcher=None):
    from ..boot import contract
    log = _logger(app)
    server = Server(log=log)
    launch = contract.parse()
    board = app.board
    os_group.register(server, os_group.default_info(board.name, launch.version, board.get("arch", None)),
                      getattr(app, "wall", None))
    root = storage_root or getattr(app, "storage", None)
    if root:
        image_group.register(server, root, log=log, launcher=launcher, launched_slot=launch.slot)
    stat_group.register(server, app)
    shell_group.register(server, shell)
    return server


def _logger(app):
    def log(msg):
        app.log.emit(app.t, 20, "smp", msg)
    return log


def attach(app, shell, udp_port=None):
    """The frame hook for a console, with its server added to the app's
    services (and, with udp_port, SMP over UDP too). Returns the hook; give
    the console to hook.send after making it (console.send_bytes)."""
    server = build_server(app, shell)
    def reset():
        server.log("reset requested over SMP: the app stops, the launcher boots next")
        app.stop()
    server.on_reset = reset
    hook = ConsoleSmp(server)
    hook.udp = None
    if udp_port is not None:
        try:
            hook.udp = UdpSmp(server, port=udp_port)
        except OSError as e:
            raise OSError("SMP over UDP port %d: %s (is another process using it? --smp-udp 0 takes any "
                          "free port)" % (udp_port, e.strerror or e)) from None
        app.services.add(hook.udp)
    app.services.add(server)
    return hook
