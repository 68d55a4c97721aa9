"""Mingchu edge agent: cameras in, signed violation evidence out over MQTT."""

__version__ = "0.1.0"
