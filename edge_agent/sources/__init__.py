"""Camera sources: RTSP or looping files, decoded on one thread each, sampled into ``Frame``s.

Usage::

    src = VideoSource("kitchen-1", "rtsp://user:pw@10.0.0.5/main", detect_url="rtsp://…/sub",
                      detect_fps=5).start()
    frame = src.read(timeout_s=1.0)   # Frame | None
    src.stats()                      # SourceStats: state, counters, masked last error
    src.stop()
"""

from edge_agent.sources.backoff import Backoff
from edge_agent.sources.masking import mask_text, mask_url
from edge_agent.sources.reader import ReaderStats, SourceState, StreamReader, classify_error
from edge_agent.sources.video_source import SourceStats, VideoSource

__all__ = [
    "Backoff",
    "ReaderStats",
    "SourceState",
    "SourceStats",
    "StreamReader",
    "VideoSource",
    "classify_error",
    "mask_text",
    "mask_url",
]
