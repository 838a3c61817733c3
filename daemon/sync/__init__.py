"""Sync: the terminal's link to the host over MQTT — the outbox relay, status and
telemetry, commands (docs/mqtt.md)."""
