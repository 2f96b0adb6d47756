"""`hearth flash --port P IMAGE`: upload a signed image over SMP, boot it on
trial and wait for the device to confirm it (hearth_tools.smp.flash)."""
from ..errors import UsageError
from ..smp import SmpClient, flash
from ..smp.client import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from ..smp.flash import DEFAULT_WAIT_S
from ..transport import SPEC_HELP, transport_for

NAME = "flash"
HELP = "upload a signed image over SMP (MCUmgr), reset, and wait for the device to confirm it"


def add_arguments(parser):
    parser.add_argument("image", help="signed image file (hearth image build)")
    parser.add_argument("--port", required=True, help="the device: %s" % SPEC_HELP)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds to wait for each answer (default %(default)s)")
    parser.add_argument("--retries", type=int, default=DEFAULT_RETRIES,
                        help="re-sends of a request whose answer is lost (default %(default)s)")
    parser.add_argument("--wait", type=float, default=DEFAULT_WAIT_S, metavar="S",
                        help="seconds to wait for the device to confirm the image after the reset "
                        "(default %(default)s; 0 = do not wait)")
    parser.add_argument("--no-reset", action="store_true", help="upload only: the image boots at the next reset")


def run(args, out):
    try:
        with open(args.image, "rb") as f:
            image = f.read()
    except OSError as e:
        raise UsageError("cannot read %s: %s" % (args.image, e.strerror))
    if args.timeout <= 0 or args.retries < 0 or args.wait < 0:
        raise UsageError("--timeout must be > 0, --retries and --wait >= 0")
    transport = transport_for(args.port, timeout=args.timeout)
    transport.open()

    def reconnect():
        transport.close()
        transport.open()

    def progress(done, total):
        if out.tty and not out.json:
            out.err.write("\rflash: %d/%d bytes (%d%%)" % (done, total, 100 * done // total))
            if done == total:
                out.err.write("\n")
            out.err.flush()
    try:
        r = flash(SmpClient(transport, timeout=args.timeout, retries=args.retries), image,
                  reconnect=reconnect, progress=progress, wait_s=args.wait, reset=not args.no_reset)
    finally:
        transport.close()
    text = {"skipped": "%(version)s: %(reason)s",
            "confirmed": "%(version)s flashed and confirmed by the device",
            "pending": "%(version)s uploaded; it boots on trial at the next reset",
            "reset": "%(version)s uploaded; the device is resetting into it"}[r["result"]] % r
    out.data(r, text)
    return 0
