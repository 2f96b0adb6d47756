"""The launcher <-> application contract: how `python -m hearth.boot boot`
starts an image, and what the image may rely on.

The environment is exactly this (build_env; the application reads it with
parse()):

    HEARTH_STORAGE        the storage directory
    HEARTH_RUN_DIR        boot/run/<digest16>/: the slot's bundle, extracted, and nothing else
    HEARTH_BOOT_SLOT      "a" or "b"
    HEARTH_BOOT_TRIAL     "1" when this boot is a trial attempt of an unconfirmed image, else "0"
    HEARTH_IMAGE_VERSION  the image's version

plus, from the launcher's own environment, only PASSED_THROUGH: PATH and
LANG (defaults when missing) and systemd's NOTIFY_SOCKET / WATCHDOG_USEC /
WATCHDOG_PID (exec keeps the service's PID, so its watchdog is the
application's). Anything else the launcher inherited (PYTHONPATH,
PYTHONSTARTUP, developer knobs such as HEARTH_MODELS or HEARTH_NATIVE_DSP)
does not reach the image.

The command (command()) is

    python -I -B -c BOOTSTRAP RUN_DIR ENTRY ARGS...      (working directory: RUN_DIR)

  -I  isolated: PYTHON* variables and the user site are ignored, and neither
      the working directory nor a script directory goes on sys.path, so an
      app.py or hearth/ beside the launcher cannot shadow the bundle (plain
      `python -m ENTRY` puts the working directory first);
  -B  no bytecode is written: a __pycache__ would be an extra entry in the run
      directory, which the launcher removes at every boot (it holds exactly
      the bundle: Launcher.materialize), so cached bytecode could never be
      trusted anyway;
  BOOTSTRAP puts the run directory first on sys.path (what PYTHONPATH did,
      which -I ignores) and runs ENTRY as __main__ the way -m does. It imports
      only the standard library first, so the bundle's own hearth package is
      the one the image imports; sitecustomize runs from the system's site
      directory only, before the run directory is on the path.
"""
import os
import sys

STORAGE = "HEARTH_STORAGE"
RUN_DIR = "HEARTH_RUN_DIR"
BOOT_SLOT = "HEARTH_BOOT_SLOT"
BOOT_TRIAL = "HEARTH_BOOT_TRIAL"
IMAGE_VERSION = "HEARTH_IMAGE_VERSION"
NAMES = (STORAGE, RUN_DIR, BOOT_SLOT, BOOT_TRIAL, IMAGE_VERSION)
PASSED_THROUGH = ("PATH", "LANG", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
DEFAULTS = {"PATH": os.defpath, "LANG": "C.UTF-8"}

BOOTSTRAP = ("import runpy, sys; sys.path.insert(0, sys.argv[1]); entry = sys.argv[2]; del sys.argv[1:3]; "
             "runpy.run_module(entry, run_name='__main__', alter_sys=True)")


def build_env(storage, run_dir, slot, trial, version, base=None):
    """The whole environment the image starts with."""
    base = os.environ if base is None else base
    env = {k: base[k] for k in PASSED_THROUGH if k in base}
    for k, v in DEFAULTS.items():
        env.setdefault(k, v)
    env.update({STORAGE: storage, RUN_DIR: run_dir, BOOT_SLOT: slot, BOOT_TRIAL: "1" if trial else "0",
                IMAGE_VERSION: version})
    return env


class Launch:
    """What the launcher told the running image (all None outside a boot)."""

    def __init__(self, storage, run_dir, slot, trial, version):
        self.storage = storage
        self.run_dir = run_dir
        self.slot = slot
        self.trial = trial
        self.version = version


def parse(environ=None):
    env = os.environ if environ is None else environ
    return Launch(env.get(STORAGE), env.get(RUN_DIR), env.get(BOOT_SLOT), env.get(BOOT_TRIAL) == "1",
                  env.get(IMAGE_VERSION))


def command(run_dir, entry, app_args=(), python=None):
    """argv that runs module `entry` of the bundle in run_dir, isolated."""
    return [python or sys.executable, "-I", "-B", "-c", BOOTSTRAP, run_dir, entry] + list(app_args)


def exec_image(st, decision, app_args=()):
    """Replace the launcher with the chosen image (never returns).

    exec: the supervisor (systemd) sees the application's exit status, and
    restarting the launcher is the next boot, which counts the next attempt.
    """
    run_dir = st.local_path(decision.run_dir)
    v = decision.verified
    app_args = list(app_args)
    if app_args and app_args[0] == "--":
        app_args = app_args[1:]
    env = build_env(st.root, run_dir, decision.slot, decision.trial, v.version)
    argv = command(run_dir, v.manifest["entry"], app_args)
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(run_dir)
    os.execve(argv[0], argv, env)
