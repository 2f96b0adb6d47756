"""`hearth sim`: start a sim board; its console is on a pty (or run a script)."""
import signal

from hearth import board as board_mod
from hearth.wiring import WiringError, build
from hearth.console import PtyConsole, make_shell
from hearth.services import ConsoleService
from hearth.core.log import format_record
from hearth.ports.audio import AudioError

from .. import scenario
from ..errors import UsageError

NAME = "sim"
HELP = "start a sim board and print its console pty (or run a --script on audio time)"
USES_STORAGE = True     # --storage DIR (default: the board's [storage] root)


def add_arguments(parser):
    parser.add_argument("--board", default="sim", help="board name or TOML path (default: sim)")
    parser.add_argument("--audio", metavar="FILE|-", help="16 kHz WAV file, or - for raw s16le on stdin "
                        "(default: a quiet room)")
    parser.add_argument("--script", metavar="FILE", help="run a scenario script as fast as possible and "
                        "print the transcript (see hearth_tools/scenario.py for the commands)")
    parser.add_argument("--seconds", type=float, help="stop after this much audio time")
    parser.add_argument("--quiet", action="store_true", help="do not echo the device log on stderr")


def run(args, out):
    try:
        b = board_mod.load(args.board, storage=args.storage)
    except board_mod.BoardError as e:
        raise UsageError(str(e))
    if b.kind != "sim":
        raise UsageError("board %s is a real board; `hearth sim` runs kind = \"sim\" boards" % b.name)
    if args.script:
        try:
            text = open(args.script, encoding="utf-8").read()
        except OSError as e:
            raise UsageError("%s: %s" % (args.script, e.strerror))
        write, lines = scenario.transcript_to(out)
        try:
            ok, sc = scenario.run(text, write, storage=args.storage, board=args.board, audio=args.audio)
        except AudioError as e:
            raise UsageError(str(e))
        if out.json:
            out.data({"ok": ok, "transcript": lines, "failures": sc.failures})
        return 0 if ok else 1

    try:
        app = build(b, audio=args.audio, realtime=True)
    except (AudioError, WiringError) as e:
        raise UsageError(str(e))
    from hearth.smp.service import attach as smp_attach
    shell = make_shell(app)
    smp = smp_attach(app, shell)            # SMP (MCUmgr) on the same pty: docs/SMP.md
    console = PtyConsole(shell, smp_handler=smp)
    smp.send = console.send_bytes
    app.log.sinks.append(console.log_sink)
    app.services.add(ConsoleService(console))
    app.console_up()            # a trial image's health check needs the console
    if not args.quiet:
        app.log.sinks.append(lambda t, l, m, msg: out.info(format_record((t, l, m, msg))))
    out.data({"console": console.path, "board": b.name, "storage": b.storage_root},
             "console: %s  (board %s, storage %s)" % (console.path, b.name, b.storage_root))
    out.info("connect with a terminal program, e.g. `screen %s`; Ctrl-C stops" % console.path)
    signal.signal(signal.SIGTERM, lambda *a: app.stop())
    try:
        app.run(seconds=args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        console.close()
    out.info("sim stopped at t=%.1f s (%s)" % (app.t, app.modes.why()))
    return 0
