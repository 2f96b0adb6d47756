"""Recovery mode: no slot holds a bootable image, so keep a console and take a new one.

A line console on the device's console stream (stdin/stdout of the launcher,
the pty on the sim board):

    status           launcher state as JSON
    install PATH     install an image file (then `boot` to try it)
    boot             leave recovery if a bootable image is installed now
    exit             leave without booting
"""
import json
import shlex

from ..image.errors import ImageError
from .state import StateError

HELP = "commands: status | install PATH | boot | exit"


def serve(launcher, inp, out, reasons=(), prompt="recovery> "):
    """Run the console until `boot` finds an image or input ends.

    Returns "boot" (the caller boots again) or "exit".
    """
    out.write("hearth recovery: no bootable image (%s)\n%s\n" % ("; ".join(reasons) or "none installed", HELP))
    out.flush()
    while True:
        out.write(prompt)
        out.flush()
        line = inp.readline()
        if not line:
            out.write("\n")
            return "exit"
        try:
            words = shlex.split(line)
        except ValueError as e:
            out.write("error: %s\n" % e)
            continue
        if not words:
            continue
        cmd, args = words[0], words[1:]
        try:
            if cmd == "status":
                out.write(json.dumps(launcher.status(), sort_keys=True) + "\n")
            elif cmd == "install" and len(args) == 1:
                r = launcher.install(args[0])
                out.write("installed %s in slot %s for a trial boot\n" % (r["version"], r["slot"]))
            elif cmd == "boot":
                st = launcher.status()
                if st["pending"] or st["slot"]:
                    return "boot"
                out.write("error: nothing installed yet\n")
            elif cmd in ("exit", "quit"):
                return "exit"
            else:
                out.write(HELP + "\n")
        except (ImageError, StateError) as e:
            out.write("error: %s\n" % e)
        except OSError as e:
            out.write("error: %s\n" % e)
        out.flush()
