"""The fleet side of telemetry: ingest workers (MQTT shared subscriptions into
a database) and queries over what they stored (docs/TELEMETRY.md)."""
