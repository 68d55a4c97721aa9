"""Regenerate the golden messages (run by hand when the contract changes on purpose)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"
JPEG = b"\xff\xd8\xff\xe0golden-jpeg\xff\xd9"
SHA = hashlib.sha256(JPEG).hexdigest()
PLACE = {
    "school_id": "sch-001",
    "canteen_id": "ct-1",
    "room_id": "prep-1",
    "room_type": "prep",
    "camera_id": "cam-prep-1",
    "camera_name": "备餐间 1",
    "zone_id": "prep-table",
}
ATTACH = {"content_type": "image/jpeg", "size": len(JPEG), "sha256": SHA, "width": 1920, "height": 1080}
COMMON = {"schema_version": 1, "school_id": "sch-001", "device_id": "edge-01", "sent_at": "2026-11-29T08:00:01Z"}

SAMPLES = {
    "violation_event": {
        **COMMON,
        "kind": "violation",
        "event_id": "6f1c2b5e-3d44-4b8a-9a53-0c7e2f6d9b10",
        "violation_class": "no_mask",
        "severity": 3,
        "rule": "no_mask",
        "occurred_at": "2026-11-29T16:00:00+08:00",
        "timezone": "Asia/Shanghai",
        "place": PLACE,
        "track_id": 17,
        "score": 0.82,
        "duration_s": 12.5,
        "boxes": [
            {"label": "person", "score": 0.91, "xyxy": [0.1, 0.2, 0.3, 0.9], "track_id": 17},
            {"label": "face_bare", "score": 0.82, "xyxy": [0.15, 0.22, 0.2, 0.3], "track_id": None},
        ],
        "model": {"name": "kitchen-demo-yolo11n-320", "sha256": ""},
        "attachments": [{"name": "annotated", **ATTACH}, {"name": "clean", **ATTACH}],
        "signature": None,
    },
    "device_status": {
        **COMMON,
        "kind": "status",
        "state": "online",
        "agent_version": "0.1.0",
        "public_key": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=",
        "cameras": [{"camera_id": "cam-prep-1", "state": "online", "last_frame_at": "2026-11-29T08:00:00Z"}],
        "signature": None,
    },
    "device_stats": {
        **COMMON,
        "kind": "stats",
        "uptime_s": 3600.0,
        "outbox_depth": 0,
        "outbox_bytes": 0,
        "outbox_near_full": False,
        "cameras": [
            {
                "camera_id": "cam-prep-1",
                "decode_fps": 25.0,
                "detect_fps": 5.0,
                "dropped_frames": 3,
                "inference_ms": 21.5,
                "lag_s": 0.08,
            }
        ],
        "signature": None,
    },
    "command_live_start": {
        **COMMON,
        "kind": "command",
        "command_id": "0b8d3a52-2f0e-4b55-8f61-4f0e1e7f8a21",
        "name": "live_start",
        "camera_id": "cam-prep-1",
        "live": {"max_width": 640, "fps": 3.0, "lease_s": 30.0},
        "signature": None,
    },
    "command_reply": {
        **COMMON,
        "kind": "reply",
        "command_id": "0b8d3a52-2f0e-4b55-8f61-4f0e1e7f8a21",
        "ok": True,
        "error": None,
        "camera_id": "cam-prep-1",
        "attachments": [{"name": "snapshot", **ATTACH}],
        "signature": None,
    },
    "live_frame": {
        **COMMON,
        "kind": "live_frame",
        "camera_id": "cam-prep-1",
        "seq": 42,
        "captured_at": "2026-11-29T08:00:00.500000Z",
        "attachments": [{"name": "frame", **ATTACH}],
        "signature": None,
    },
}

if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    for name, sample in SAMPLES.items():
        (GOLDEN / f"{name}.json").write_text(json.dumps(sample, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
