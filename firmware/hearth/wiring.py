"""Ports from the board: what `kind` a board is decides which adapters the
App gets (the sim's in-process oven, or ALSA, GPIO and sysfs on a Linux
board), with the clocks, the storage, the watchdog and the services.

    app = hearth.wiring.build(board, storage=..., audio=...)

The sim's wall clock runs with audio time from the moment the process
started; HEARTH_SIM_WALL (seconds since the epoch, in `env`) sets where it
starts, so a scripted run reads the same wall times every time; app.wall.set()
or .jump() moves it while running.
"""
import os

from .app import App

SIM_WALL_ENV = "HEARTH_SIM_WALL"


class WiringError(ValueError):
    """A setting the ports cannot be built from (the message says which)."""


def sim_ports(board, audio_spec=None, realtime=False, record_outputs=False):
    """Ports for the sim board: in-process oven, room noise or a file, SoC file.

    record_outputs: the outputs port also writes each relay change to the
    board's output record (a file write in the actuate stage: `python -m
    hearth` turns it on so the state it leaves survives the process; the
    benchmarks and in-process users leave it off)."""
    from .ports import audio as audio_mod
    from .ports.clock import MonotonicClock, VirtualClock
    from .ports.sensors import SysfsTemperature, write_millidegrees
    from .ports.sim import SimOven, SimInputs, SimOutputs

    oven = SimOven(board.section("sim"))
    zone = board.path_of("thermal.zone")
    write_millidegrees(zone, oven.p["soc_c"])
    src = audio_mod.open_source(audio_spec or "room", board.get("audio.rate"))
    return {
        "oven": oven,
        "audio": audio_mod.Mixer(src, board.get("audio.rate")),
        "inputs": SimInputs(oven),
        "outputs": SimOutputs(oven, record=sim_output_record(board) if record_outputs else None),
        "soc": SysfsTemperature(zone),
        "clock": MonotonicClock() if realtime else VirtualClock(),
    }


def sim_output_record(board):
    """Where the sim board records its outputs (hearth.ports.sim.SimOutputs)."""
    return os.path.join(board.storage_root, "sim", "outputs.json")


def linux_ports(board, audio_spec=None):
    """Ports for a real Linux board: ALSA (or a file), GPIO, sysfs sensors."""
    from .ports import audio as audio_mod
    from .ports.clock import VirtualClock, WallClock
    from .ports.gpio import GpioInputs, GpioOutputs
    from .ports.sensors import SysfsTemperature

    chip = board.get("gpio.chip")
    lines = board.section("gpio.lines")
    food = board.get("sensors.food")
    return {
        "audio": audio_mod.Mixer(audio_mod.open_source(audio_spec or "alsa", board.get("audio.rate"),
                                                       device=board.get("audio.device"))),
        "inputs": GpioInputs(chip, lines, board.get("gpio.active_low_inputs", False),
                             SysfsTemperature(board.get("sensors.cavity")),
                             SysfsTemperature(food) if food else None),
        "outputs": GpioOutputs(chip, lines, board.get("gpio.active_low_outputs", False)),
        "soc": SysfsTemperature(board.path_of("thermal.zone")),
        # capture blocks on the device clock: audio time is real time already
        "clock": VirtualClock(),
        "wall": WallClock(),
    }


def default_models_dir(storage):
    """Models in storage (what an image installs) win over the source tree's."""
    from .board import ROOT
    p = os.path.join(str(storage), "models")
    return p if os.path.isdir(p) else os.path.join(ROOT, "models")


def _sim_wall(app, env):
    from .ports.clock import SimWallClock
    epoch = env.get(SIM_WALL_ENV)
    try:
        epoch = float(epoch) if epoch else None
    except ValueError:
        raise WiringError("%s=%r: give the sim's wall clock start as seconds since the epoch, "
                          "e.g. %s=1767225600" % (SIM_WALL_ENV, epoch, SIM_WALL_ENV))
    return SimWallClock(lambda: app.t, epoch)


def build(board, storage=None, audio=None, realtime=False, detector="auto",
          detector_factory=None, models_dir=None, boot="auto", log=None, watchdog=None,
          trial_deadline_s=None, env=None, services=(), record_outputs=False):
    """An App for `board` (a hearth.board.Board) with the right ports."""
    from .boot.storage import DirStorage
    from .ports.watchdog import SdNotify

    st = DirStorage(storage or board.storage_root)
    st.ensure_dir()
    ports = (sim_ports(board, audio, realtime, record_outputs) if board.kind == "sim"
             else linux_ports(board, audio))
    app = App(board, ports["audio"], ports["inputs"], ports["outputs"], ports["soc"], ports["clock"], st,
              watchdog=watchdog if watchdog is not None else SdNotify(),
              detector=detector, detector_factory=detector_factory,
              models_dir=models_dir or default_models_dir(st), boot=boot, log=log,
              trial_deadline_s=trial_deadline_s, env=env, services=services, wall=ports.get("wall"))
    if "wall" not in ports:
        app.wall = ports["wall"] = _sim_wall(app, app.env)
    app.ports = ports
    return app
