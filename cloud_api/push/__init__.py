"""Push alerts: channels (registry keyed by config ``type``), routing, preferences, retries, delivery log."""
