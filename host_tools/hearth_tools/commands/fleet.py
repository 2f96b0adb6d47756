"""`hearth fleet ingest|devices`: telemetry from the fleet's broker into a database, and what it holds."""
import os
import signal
import socket
import threading

from ..errors import HearthError, UsageError

NAME = "fleet"
HELP = "ingest device telemetry from MQTT into SQLite/PostgreSQL; list devices"


def add_arguments(parser):
    sub = parser.add_subparsers(dest="fleet_cmd", metavar="ACTION")
    p = sub.add_parser("ingest", help="store telemetry from the broker (several workers share the load)",
                       description="Subscribe to $share/GROUP/PREFIX/+/tele on the broker and store every "
                                   "message once in the database; malformed and oversized messages are "
                                   "counted and skipped. Runs until SIGTERM/SIGINT (or --seconds/--count).")
    p.add_argument("--broker", required=True, metavar="URL", help="mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    p.add_argument("--db", required=True, metavar="URL", help="a file path or sqlite:///PATH (default kind), "
                   "or postgresql://...")
    p.add_argument("--group", default="ingest", help="shared-subscription group (default: ingest)")
    p.add_argument("--topic-prefix", default="hearth", help="the devices' [telemetry] topic_prefix")
    p.add_argument("--client-id", help="this worker's MQTT client id; keep it across restarts so its "
                   "session is resumed (default: hearth-ingest-HOST-PID)")
    p.add_argument("--max-bytes", type=int, default=65536, help="larger messages are skipped (default 65536)")
    p.add_argument("--ca", help="CA file for mqtts://")
    p.add_argument("--seconds", type=float, help="stop after this long")
    p.add_argument("--count", type=int, help="stop after this many messages")
    p = sub.add_parser("devices", help="devices with their last heartbeat, version and mode")
    p.add_argument("--db", required=True, metavar="URL")


def _store(url):
    from ..fleet.store import StoreError, open_store
    try:
        return open_store(url)
    except StoreError as e:
        raise UsageError(str(e)) from None


def run(args, out):
    cmd = getattr(args, "fleet_cmd", None)
    if cmd is None:
        raise UsageError("name an action: hearth fleet {ingest|devices}")
    if cmd == "devices":
        st = _store(args.db)
        try:
            rows = st.devices()
        finally:
            st.close()
        from datetime import datetime, timezone
        lines = ["%-24s %-22s %-12s %-12s %s" % ("device", "last heartbeat (UTC)", "version", "mode", "reboot")]
        for r in rows:
            t = datetime.fromtimestamp(r["last_heartbeat"], timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            lines.append("%-24s %-22s %-12s %-12s %s" % (r["device"], t, r["version"] or "-", r["mode"] or "-",
                                                         r["reboot"] or "-"))
        out.data({"devices": rows}, "\n".join(lines) if rows else "no devices in %s" % args.db)
        return 0
    from ..fleet.ingest import Ingestor
    from hearth.telemetry.uplink import UplinkError
    if args.max_bytes < 64:
        raise UsageError("--max-bytes must be at least 64")
    st = _store(args.db)
    cid = args.client_id or "hearth-ingest-%s-%d" % (socket.gethostname(), os.getpid())
    try:
        ing = Ingestor(st, args.broker, cid, group=args.group, prefix=args.topic_prefix,
                       max_bytes=args.max_bytes, ca=args.ca, log=lambda text: out.info(text, "hearth: warning:"))
    except UplinkError as e:
        st.close()
        raise UsageError(str(e)) from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *a: stop.set())
    out.info("ingest: %s -> %s as %s (topic %s)" % (args.broker, args.db, cid, ing.topic))
    ing.start()
    if ing.subscribed.wait(10.0):
        out.info("ingest: subscribed")
    else:
        out.info("not subscribed after 10 s (is the broker at %s up?); retrying" % args.broker, "hearth: warning:")
    try:
        stats = ing.run(seconds=args.seconds, count=args.count, stop=stop)
    except Exception as e:
        raise HearthError("ingest stopped: %s" % e) from None
    finally:
        ing.stop()
        st.close()
    out.data(stats, "received %(received)d: stored %(stored)d, duplicates %(duplicates)d, "
                    "malformed %(malformed)d, oversized %(oversized)d" % stats)
    return 0
