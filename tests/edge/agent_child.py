"""The edge agent as a real subprocess for crash tests: real outbox, MQTT, evidence and rules;
only the camera and the model are scripted (our own seams).

    python -m tests.edge.agent_child CONFIG produce|replay

``produce``: a cat in every frame, so pest_intrusion fires every ``realarm_s``; prints
``EVENT <event_id>`` after each event is committed to the outbox. ``replay``: no detections,
just publishes what the outbox holds. Runs until SIGTERM (clean stop) or SIGKILL.
"""

from __future__ import annotations

import signal
import sys
import threading

from edge_agent.app import EdgeApp
from edge_agent.config import load_edge_config
from edge_agent.detections import Detections
from edge_agent.evidence import EvidenceResult
from edge_agent.model import LabelMapper, LoadedModel
from mingchu.contract.messages import ModelInfo
from tests.edge.conftest import FakeSource, ScriptedDetector, dets


class PassThroughTracker:
    def update(self, detections: Detections, now: float | None = None) -> Detections:
        return detections


def main() -> int:
    config = load_edge_config(sys.argv[1])
    produce = sys.argv[2] == "produce"
    cat = dets(("cat", (20, 20, 120, 120), 1))
    detector = ScriptedDetector(lambda _i: cat if produce else Detections.empty())

    def on_event(result: EvidenceResult, stored: bool) -> None:
        print(f"EVENT {result.event.event_id} {int(stored)}", flush=True)

    app = EdgeApp(
        config,
        model_factory=lambda: LoadedModel(detector, LabelMapper("mingchu", {}), ModelInfo(name="scripted")),  # type: ignore[arg-type]
        source_factory=lambda cam: FakeSource(cam.id, fps=20),
        tracker_factory=PassThroughTracker,
        on_event=on_event,
        use_motion_gate=False,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    app.start()
    print("STARTED", flush=True)
    done.wait()
    app.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
