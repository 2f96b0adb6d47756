"""python -m hearth: the appliance, as the launcher runs it from an image slot.

    python -m hearth [--board NAME|TOML] [--storage DIR] [--audio FILE|-]
                     [--seconds S] [--fast] [--trial-deadline S] [--quiet] [--json]

The launcher (`python -m hearth.boot boot`) starts this isolated from the
slot's run directory with the environment of hearth.boot.contract
(HEARTH_STORAGE, HEARTH_RUN_DIR, HEARTH_BOOT_SLOT, HEARTH_BOOT_TRIAL,
HEARTH_IMAGE_VERSION), read here through contract.parse(). Which board: --board, else the
board file the image was built for (HEARTH_RUN_DIR/board.toml), else the
board named in the device record (boot/device.json) from boards/, else sim.
The board must be the one the storage was provisioned for. Models come from
the image (HEARTH_RUN_DIR/models) when it carries them.

The console is a pty (the sim board's serial port; the real boards' UART
transport is a later issue); its path is the first line on stdout. The
device log goes to stderr. A trial image confirms itself through
hearth.boot.HealthCheck once the loop has run the board's
[detector] health_check_s without a fault, with the detector loaded (or
deliberately absent) and the console up; if that has not happened by the
trial deadline (default 3x the hold time) the app exits with status 4 so
the supervisor restarts the launcher, which counts the next trial boot and
reverts after the last one.

On the way out, however the loop ends (SIGTERM/SIGINT, --seconds, the audio
ending, an exception), every output is driven off (hearth.app.SAFE_OUTPUTS);
a signal does that at once, before the loop finishes its turn.

Exit status: 0 stopped (SIGTERM/SIGINT, --seconds reached, audio ended),
2 bad board/storage/audio, 4 trial image gave up on its health check (or
the launcher refused its confirm), 6 the OTA service (the board's [ota]
section, hearth.ota.service) staged an update and asks for the reboot
into it: the supervisor starts the launcher again, which boots the trial.
"""
import argparse
import json
import os
import signal
import sys

from .boot import contract
from .exitcodes import OK as EXIT_OK, REBOOT as EXIT_REBOOT, USAGE as EXIT_USAGE  # docs/CLI.md


def _parser():
    p = argparse.ArgumentParser(prog="python -m hearth", description=__doc__.split("\n")[0])
    p.add_argument("--board", help="board name or TOML path (default: the image's, then the device record's)")
    p.add_argument("--storage", default=contract.parse().storage,
                   help="device storage directory (default $%s, then the board's root)" % contract.STORAGE)
    p.add_argument("--audio", metavar="FILE|-", help="16 kHz WAV file or - for raw s16le on stdin "
                   "(default: the board's source: a quiet room on the sim, ALSA on real boards)")
    p.add_argument("--seconds", type=float, help="stop after this much audio time")
    p.add_argument("--fast", action="store_true",
                   help="sim: run on audio time as fast as possible instead of pacing to the wall clock")
    p.add_argument("--trial-deadline", type=float, metavar="S",
                   help="a trial image not healthy after S seconds exits with status 4 "
                   "(default: 3x the board's health_check_s; 0 = never)")
    p.add_argument("--smp-udp", type=int, metavar="PORT",
                   help="also serve SMP (MCUmgr) over UDP on PORT (1337 is the usual; 0 = any free port)")
    p.add_argument("--quiet", action="store_true", help="no device log on stderr")
    p.add_argument("--json", action="store_true", help="stdout lines are JSON objects")
    return p


def _fail(args, message, code=EXIT_USAGE):
    """One line on stderr; with --json the failure object on stdout too (docs/CLI.md)."""
    from .cliargs import failure
    message = str(message)
    sys.stderr.write("hearth: error: %s\n" % message)
    if args.json:
        _say(args, failure(message, code), "")
    return code


def _say(args, obj, text):
    sys.stdout.write((json.dumps(obj, sort_keys=True) if args.json else text) + "\n")
    sys.stdout.flush()


def _device_board(storage):
    """The board name in the launcher's device record, or None (not provisioned)."""
    if not storage:
        return None
    from .boot.state import StateError, load_device
    from .boot.storage import DirStorage
    try:
        return load_device(DirStorage(storage))["board"]
    except StateError as e:
        if e.code == "not-initialized":
            return None
        raise


def resolve_board(arg, storage, run_dir):
    """(board path or name, device board name or None)."""
    device = _device_board(storage)
    if arg:
        return arg, device
    if run_dir and os.path.isfile(os.path.join(run_dir, "board.toml")):
        return os.path.join(run_dir, "board.toml"), device
    return device or "sim", device


def main(argv=None):
    args = _parser().parse_args(argv)
    from . import board as board_mod
    from .app import EXIT_TRIAL_UNHEALTHY, build
    from .core.log import format_record
    from .ports.audio import AudioError
    from .wiring import WiringError

    launch = contract.parse()
    run_dir = launch.run_dir
    try:
        ref, device = resolve_board(args.board, args.storage, run_dir)
        b = board_mod.load(ref, storage=args.storage)
        if device is not None and device != b.name:
            raise board_mod.BoardError("%s: board %s, but storage %s was provisioned for board %s"
                                       % (b.path, b.name, args.storage, device))
    except Exception as e:          # BoardError, or hearth.boot refusing an unreadable device record
        return _fail(args, e)
    models = os.path.join(run_dir, "models") if run_dir and os.path.isdir(os.path.join(run_dir, "models")) else None
    hold = b.get("detector.health_check_s", 30.0)
    deadline = 3.0 * hold if args.trial_deadline is None else (args.trial_deadline or None)
    try:
        app = build(b, audio=args.audio, realtime=(b.kind == "sim" and not args.fast), models_dir=models,
                    trial_deadline_s=deadline, record_outputs=True)
    except (AudioError, WiringError) as e:
        return _fail(args, e)

    from .console import PtyConsole, make_shell
    from .services import ConsoleService
    from .smp.service import attach as smp_attach
    shell = make_shell(app)
    try:
        smp = smp_attach(app, shell, udp_port=args.smp_udp)
    except OSError as e:
        sys.stderr.write("hearth: error: %s\n" % e)
        return EXIT_USAGE
    console = PtyConsole(shell, smp_handler=smp)
    smp.send = console.send_bytes
    app.log.sinks.append(console.log_sink)
    if not args.quiet:
        def to_stderr(t, level, module, msg):
            sys.stderr.write(format_record((t, level, module, msg)) + "\n")
            sys.stderr.flush()
        app.log.sinks.append(to_stderr)
    _say(args, {"console": console.path, "board": b.name, "storage": b.storage_root, "slot": launch.slot,
                "version": launch.version, "package": os.path.dirname(os.path.abspath(__file__)),
                "smp_udp": smp.udp.address[1] if smp.udp is not None else None},
         "console: %s  (board %s, storage %s%s)" % (
             console.path, b.name, b.storage_root,
             (", slot %s, version %s" % (launch.slot, launch.version)) if launch.slot else ""))
    app.services.add(ConsoleService(console))
    from .telemetry import start as start_telemetry
    telemetry = start_telemetry(app, b, launch.version)     # None unless the board's [telemetry] is on
    reboot_into = []                # the OTA service staged a trial image: exit REBOOT

    def ota_reboot(outcome):
        reboot_into.append(outcome)
        app.stop()
    from .ota.service import from_board as ota_service
    app.ota = ota_service(b, reboot=ota_reboot, can_reboot=lambda: not app.appliance.ctl.cooking,
                          device_log=lambda level, msg: app.log.emit(app.t, level, "ota", msg))
    if app.ota is not None:
        app.services.add(app.ota)
    app.console_up()        # the pty is open and polled every block (a service of the loop)

    def stop(signum, _frame):
        # Outputs safe at once (the supervisor may SIGKILL before the loop
        # turns again), and the loop writes no more; the finally below
        # writes them safe once more, after any write the signal interrupted.
        app.shutdown(signal.Signals(signum).name, from_signal=True)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        app.start()
        app.run(seconds=args.seconds)
    finally:
        app.shutdown("exit")        # however the loop ended: audio done, --seconds, an exception
        console.close()
        if telemetry is not None:
            telemetry.close()
    st = app.status()
    _say(args, {"stopped": True, "t": st["t"], "mode": st["mode"], "why": st["why"], "trial": st["trial"],
                "health": st["health"], "trial_failed": app.trial_failed},
         "stopped at t=%.1f s: %s; health check: %s" % (st["t"], st["why"], st["health"]))
    if app.ota is not None:
        app.ota.stop()
    if app.trial_failed:
        return EXIT_TRIAL_UNHEALTHY
    return EXIT_REBOOT if reboot_into else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
