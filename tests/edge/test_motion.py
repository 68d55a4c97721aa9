"""Motion gate and frame-quality measures on synthetic pictures (pure logic, no services)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge_agent.motion import MotionGate, frame_quality

H, W = 360, 640


def scene(rng: np.random.Generator, square_x: int | None = None, noise: int = 3) -> np.ndarray:
    """A textured kitchen stand-in with mild sensor noise, optionally a bright 60 px square."""
    base = np.random.default_rng(0).integers(40, 200, (H // 8, W // 8, 3), dtype=np.uint8)
    image = cv2.resize(base, (W, H), interpolation=cv2.INTER_NEAREST).astype(np.int16)
    image += rng.integers(-noise, noise + 1, image.shape, dtype=np.int16)
    image = image.clip(0, 255).astype(np.uint8)
    if square_x is not None:
        image[150:210, square_x : square_x + 60] = 255
    return image


def test_static_scene_has_no_motion() -> None:
    rng = np.random.default_rng(1)
    gate = MotionGate()
    results = [gate.update(scene(rng), now=i * 0.2) for i in range(30)]
    assert not any(r.moved for r in results)
    assert max(r.changed_fraction for r in results) < 0.001


def test_moving_square_is_motion_with_a_box_around_it() -> None:
    rng = np.random.default_rng(2)
    gate = MotionGate(with_boxes=True)
    gate.update(scene(rng), now=0.0)
    for i in range(5):
        gate.update(scene(rng), now=0.2 * (i + 1))
    result = gate.update(scene(rng, square_x=300), now=1.4)
    assert result.moved and result.changed_fraction > 0.01
    assert len(result.boxes) >= 1
    x1, y1, x2, y2 = max(result.boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    assert x1 < 300 / W + 0.03 and x2 > 360 / W - 0.03 and y1 < 150 / H + 0.03 and y2 > 210 / H - 0.03


def test_motion_inside_a_mask_is_ignored() -> None:
    rng = np.random.default_rng(3)
    tv = [(0.40, 0.35), (0.65, 0.35), (0.65, 0.65), (0.40, 0.65)]  # covers the square at x 300..360
    masked, open_gate = MotionGate(masks=[tv]), MotionGate()
    for gate in (masked, open_gate):
        gate.update(scene(rng), now=0.0)
    moving = [scene(rng, square_x=x) for x in (290, 300, 310)]
    assert all(not masked.update(img).moved for img in moving)
    assert any(open_gate.update(img).moved for img in moving)


def test_keepalive_and_hold() -> None:
    rng = np.random.default_rng(4)
    gate = MotionGate(keepalive_s=10.0, hold_s=1.0)
    gate.update(scene(rng), now=0.0)
    assert gate.should_detect(0.0)  # the first frame is always checked
    gate.update(scene(rng), now=1.0)
    assert not gate.should_detect(1.0)
    assert not gate.should_detect(9.9)
    assert gate.should_detect(10.1)  # nothing moved, but a flame or open bin lid never moves
    assert not gate.should_detect(10.5)
    gate.update(scene(rng, square_x=100), now=11.0)
    assert gate.should_detect(11.0) and gate.should_detect(11.5)  # motion, then the hold
    settled = [gate.update(scene(rng, square_x=100), now=11.0 + i * 0.01).moved for i in range(60)]
    assert settled[0] and not settled[-1]  # a parked object becomes background after a while
    assert not gate.should_detect(13.0)


def test_resolution_change_resets_background() -> None:
    rng = np.random.default_rng(5)
    gate = MotionGate()
    gate.update(scene(rng))
    small = cv2.resize(scene(rng), (320, 240))
    assert gate.update(small).moved is False  # new size: new background, no false alarm, no crash
    assert gate.update(cv2.resize(scene(rng), (320, 240))).moved is False


def test_accepts_gray_input() -> None:
    gate = MotionGate()
    gray = np.full((120, 160), 90, np.uint8)
    gate.update(gray)
    moved = gray.copy()
    moved[40:80, 40:80] = 250
    assert gate.update(moved).moved


@pytest.mark.parametrize(
    "bad",
    [np.zeros((0, 0, 3), np.uint8), np.zeros((10, 10, 3), np.float32), np.zeros((10, 10, 4), np.uint8)],
)
def test_bad_images_raise_clear_errors(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="expected"):
        MotionGate().update(bad)
    with pytest.raises(ValueError, match="expected"):
        frame_quality(bad)


@pytest.mark.parametrize(
    ("masks", "kwargs"),
    [
        ([[(0.1, 0.1), (0.2, 0.2)]], {}),  # two points
        ([[(0.1, 0.1), (1.5, 0.2), (0.3, 0.9)]], {}),  # pixel coordinates, not normalised
        ([[(0.1, 0.1), (float("nan"), 0.2), (0.3, 0.9)]], {}),
        ((), {"threshold": 0}),
        ((), {"min_area_fraction": 2}),
        ((), {"keepalive_s": 0}),
        ((), {"width": 4}),
    ],
)
def test_bad_configuration_rejected(masks: list, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        MotionGate(masks=masks, **kwargs)


def test_quality_tells_black_grey_blurred_and_normal_apart() -> None:
    normal = scene(np.random.default_rng(6), noise=0)
    black = np.zeros_like(normal)
    grey = np.full_like(normal, 128)
    blurred = cv2.GaussianBlur(normal, (0, 0), 12)
    q_normal, q_black, q_grey, q_blur = (frame_quality(img) for img in (normal, black, grey, blurred))
    assert q_black.brightness < 5 and q_normal.brightness > 60
    assert q_grey.uniformity_std < 1 and q_normal.uniformity_std > 20
    assert q_blur.blur < q_normal.blur / 10
    assert q_grey.blur < 1 and q_black.blur < 1
    assert abs(q_blur.brightness - q_normal.brightness) < 5  # blur does not look like darkness


def test_decoded_clip_with_moving_square_triggers_motion(video_clips: dict) -> None:
    import av

    gate = MotionGate(with_boxes=True)
    with av.open(str(video_clips["360p"])) as container:
        results = [gate.update(f.to_ndarray(format="bgr24")) for f in container.decode(video=0)]
    moved = [r for r in results[1:] if r.moved]
    assert len(moved) > 0.8 * (len(results) - 1)
    centre_y = [(b[1] + b[3]) / 2 for r in moved for b in r.boxes]
    assert centre_y and all(0.35 < y < 0.65 for y in centre_y)  # the square travels along the middle


def test_real_footage_has_motion(video_clips: dict) -> None:
    if "vtest" not in video_clips:
        pytest.skip("tests/assets/vtest_10s.mp4 not present")
    import av

    gate = MotionGate()
    with av.open(str(video_clips["vtest"])) as container:
        results = [
            gate.update(f.to_ndarray(format="bgr24"))
            for _, f in zip(range(100), container.decode(video=0), strict=False)
        ]
    assert sum(r.moved for r in results) > 50  # people walk through the whole clip
