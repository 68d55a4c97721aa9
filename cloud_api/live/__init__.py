"""Live view: a leased JPEG relay from edge (MQTT) to browsers (WebSocket)."""
