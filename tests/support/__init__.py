"""Shared test helpers: synthetic clips and a real GStreamer RTSP server other suites can reuse."""
