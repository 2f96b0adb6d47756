"""Telemetry: heartbeats and events, CBOR over MQTT 5, within a daily byte budget.

    schema   the versioned message envelope, and the privacy check every message passes
    spool    a bounded, power-cut-safe queue on the device storage (oldest dropped first, counted)
    budget   the daily byte budget (summaries before detail)
    collect  what a heartbeat and an event say, read from the running App
    uplink   MQTT 5 through paho-mqtt on its own thread (QoS 1, persistent session, backoff, TLS)
    service  the loop service tying them together (poll(now, budget) never waits on the network)

docs/TELEMETRY.md is the schema and the guarantees.
"""
