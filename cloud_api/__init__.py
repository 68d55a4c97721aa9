"""Mingchu hub: verified MQTT ingest, cases driven to 100% closure, REST API and CLI."""
