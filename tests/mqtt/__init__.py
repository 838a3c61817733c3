"""Tests against a real Mosquitto: the broker side of posterm's MQTT security."""
