"""Telemetry: heartbeats and events, CBOR over MQTT 5, within a daily byte budget.

    schema   the versioned message envelope, and the privacy check every message passes
    spool    a bounded, power-cut-safe queue on the device storage (oldest dropped first, counted)
    budget   the daily byte budget (summaries before detail)
    collect  what a heartbeat and an event say, read from the running App
    uplink   MQTT 5 through paho-mqtt on its own thread (QoS 1, persistent session, backoff, TLS)
    service  the loop service tying them together (poll(now, budget) never waits on the network)

docs/TELEMETRY.md is the schema and the guarantees.
"""


def configured(board):
    """The board's [telemetry] settings when the service should run, else None."""
    cfg = board.section("telemetry") or {}
    return cfg if cfg.get("enabled", False) and cfg.get("broker") else None


def start(app, board, version=None):
    """hearth.telemetry.service.start, imported only when the board turns
    telemetry on: a board without it pays nothing at start-up (cbor2, paho)."""
    if configured(board) is None:
        return None
    from .service import start as start_service
    return start_service(app, board, version)
