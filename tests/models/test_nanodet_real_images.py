"""NanoDet-g on real photos: objects found where a person measured them by hand."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge_agent.detect.base import DetectorSpec
from edge_agent.detect.nanodet import NanoDetDetector
from edge_agent.detect.registry import create_detector
from tests.models.conftest import iou, read_image

# Hand-measured on the images with a pixel grid (x1, y1, x2, y2).
HAND_BOXES = [
    ("dog.jpg", "dog", (132, 222, 310, 540)),
    ("dog.jpg", "bicycle", (125, 140, 566, 420)),
    ("person.jpg", "person", (190, 98, 275, 375)),
    ("person.jpg", "dog", (64, 264, 202, 345)),
    ("person.jpg", "horse", (405, 138, 600, 346)),
    ("eagle.jpg", "bird", (132, 87, 600, 448)),
    ("chelsea.jpg", "cat", (0, 0, 451, 300)),  # the cat's face fills the frame
]
# Pedestrians in frame 60 of vtest_10s.mp4, measured on a 3x zoom with a 10 px grid.
VTEST_60_PEDESTRIANS = [(468, 203, 501, 293), (504, 201, 531, 282), (616, 233, 651, 341)]


@pytest.mark.parametrize(("image", "label", "box"), HAND_BOXES, ids=[f"{i}-{lab}" for i, lab, _ in HAND_BOXES])
def test_object_found_with_hand_measured_box(nanodet: NanoDetDetector, image: str, label: str, box: tuple) -> None:
    dets = nanodet.detect(read_image(image)).with_label(label)
    assert len(dets) > 0, f"no {label} found in {image}"
    best = max(iou(b, box) for b in dets.xyxy)
    assert best >= 0.5, f"{label} in {image}: best IoU {best:.2f} vs hand box {box}; got {dets.xyxy.tolist()}"


def test_cat_is_the_top_class_on_chelsea(nanodet: NanoDetDetector) -> None:
    dets = nanodet.detect(read_image("chelsea.jpg"))
    assert dets.labels[int(np.argmax(dets.scores))] == "cat"
    x1, y1, x2, y2 = dets.with_label("cat").xyxy[0]
    assert x1 <= 230 <= x2 and y1 <= 150 <= y2, "cat box must contain the face centre"


def test_pedestrians_found_in_vtest(nanodet: NanoDetDetector, vtest_frames: dict) -> None:
    people = nanodet.detect(vtest_frames[60]).with_label("person")
    for box in VTEST_60_PEDESTRIANS:
        best = max((iou(b, box) for b in people.xyxy), default=0.0)
        assert best >= 0.5, f"pedestrian {box} in frame 60: best IoU {best:.2f}"
    for index, frame in vtest_frames.items():
        people = nanodet.detect(frame).with_label("person")
        wh = people.xyxy[:, 2:] - people.xyxy[:, :2]
        upright = int(np.sum(wh[:, 1] > 1.5 * wh[:, 0]))
        assert upright >= 3, f"frame {index}: only {upright} upright person boxes"


def test_boxes_follow_the_object_when_the_frame_is_padded(nanodet: NanoDetDetector) -> None:
    """Letterbox mapping: the same photo placed on a bigger canvas gives shifted boxes."""
    image = read_image("dog.jpg")
    canvas = np.full((900, 1200, 3), 127, np.uint8)
    ox, oy = 300, 200
    canvas[oy : oy + image.shape[0], ox : ox + image.shape[1]] = image
    dog = nanodet.detect(canvas).with_label("dog")
    assert len(dog) > 0
    moved = dog.xyxy[0] - np.array([ox, oy, ox, oy])
    assert iou(moved, (132, 222, 310, 540)) >= 0.5


def test_boxes_stay_inside_the_image(nanodet: NanoDetDetector) -> None:
    image = read_image("person.jpg")
    dets = nanodet.detect(image)
    h, w = image.shape[:2]
    assert len(dets) > 0
    assert np.all(dets.xyxy >= 0) and np.all(dets.xyxy[:, [0, 2]] <= w) and np.all(dets.xyxy[:, [1, 3]] <= h)
    assert np.all(dets.xyxy[:, 2:] > dets.xyxy[:, :2])
    assert np.all((dets.scores >= 0.3) & (dets.scores <= 1.0))


def test_flat_grey_frame_has_no_detections(nanodet: NanoDetDetector) -> None:
    assert len(nanodet.detect(np.full((480, 640, 3), 127, np.uint8))) == 0


def test_per_class_threshold_removes_only_that_class(nanodet_path) -> None:
    strict = NanoDetDetector(DetectorSpec(nanodet_path, score_threshold=0.3, class_thresholds={"dog": 0.99}))
    labels = set(strict.detect(read_image("dog.jpg")).labels)
    assert "dog" not in labels and "bicycle" in labels


def test_created_through_the_family_registry(nanodet_path) -> None:
    detector = create_detector("nanodet", DetectorSpec(nanodet_path))
    assert isinstance(detector, NanoDetDetector)
    assert len(detector.class_names) == 80 and detector.class_names[0] == "person"
    assert detector.class_names[67] == "cell phone" and detector.class_names[64] == "mouse"


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((100, 100), np.uint8),  # grey, no channel axis
        np.zeros((100, 100, 4), np.uint8),  # BGRA
        np.zeros((100, 100, 3), np.float32),  # float image
    ],
    ids=["2d", "4-channel", "float"],
)
def test_bad_image_is_a_clear_error(nanodet: NanoDetDetector, bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8 BGR"):
        nanodet.detect(bad)


def test_tiny_and_extreme_aspect_images_do_not_crash(nanodet: NanoDetDetector) -> None:
    for shape in [(1, 1, 3), (10, 2000, 3), (2000, 10, 3)]:
        dets = nanodet.detect(np.full(shape, 90, np.uint8))
        assert np.all(dets.xyxy[:, [0, 2]] <= shape[1]) and np.all(dets.xyxy[:, [1, 3]] <= shape[0])


def test_jpeg_roundtrip_keeps_detections(nanodet: NanoDetDetector) -> None:
    """A recompressed frame (as from an RTSP camera) still finds the same objects."""
    image = read_image("person.jpg")
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    labels = set(nanodet.detect(cv2.imdecode(buf, cv2.IMREAD_COLOR)).labels)
    assert {"person", "dog"} <= labels
