"""posterm <-> host over MQTT (docs/mqtt.md): topics, the event envelope, commands, acks and
replies; pure, so the terminal and the host share one schema."""
