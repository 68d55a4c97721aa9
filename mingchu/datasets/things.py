"""Procedural non-person objects: bins, stove flames, pests and animals, plus unlabelled clutter.

Each drawer fills a given box (x, y, w, h) and returns the exact labelled box it drew, so the
generator can place objects without overlap before drawing. Aspect ratios live in ``ASPECT``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from mingchu.datasets.sprites import AA, Image, Labelled, _c, _darker, _pick, _pt

# width / height of each drawer's box, and its size range as a fraction of image height
ASPECT: dict[str, tuple[float, float, float]] = {
    "bin_open": (0.75, 0.22, 0.40),
    "bin_closed": (0.75, 0.22, 0.40),
    "flame": (0.7, 0.12, 0.25),
    "rodent": (2.4, 0.08, 0.14),
    "cockroach": (1.5, 0.07, 0.11),
    "cat": (1.0, 0.16, 0.30),
    "dog": (1.4, 0.20, 0.36),
    "bird": (1.2, 0.1, 0.17),
}

BIN_COLORS = [(60, 130, 40), (150, 90, 30), (90, 90, 90), (40, 40, 160), (30, 150, 200), (120, 120, 60)]
FUR = [(40, 110, 200), (30, 30, 30), (130, 130, 130), (60, 90, 130), (200, 210, 220)]


def draw_bin(img: Image, x: float, y: float, w: float, h: float, rng: np.random.Generator, open_: bool) -> Labelled:
    """Tapered bin; closed has a domed lid with handle, open shows a dark mouth and spilling rubbish."""
    color = _pick(BIN_COLORS, rng)
    lid_h = 0.16 * h
    body_top = y + lid_h
    pts = np.array(
        [_pt(x + 0.04 * w, body_top), _pt(x + 0.96 * w, body_top), _pt(x + 0.86 * w, y + h), _pt(x + 0.14 * w, y + h)]
    )
    cv2.fillPoly(img, [pts], color, AA)
    for k in (0.3, 0.5, 0.7):
        cv2.line(
            img,
            _pt(x + k * w, body_top + 0.1 * h),
            _pt(x + k * w, y + 0.92 * h),
            _darker(color, 0.75),
            max(1, round(w / 25)),
            AA,
        )
    if open_:
        cv2.ellipse(img, _pt(x + w / 2, body_top), _pt(0.46 * w, 0.09 * h), 0, 0, 360, (15, 15, 15), -1, AA)
        for _ in range(4):
            gx, gy = x + w * float(rng.uniform(0.2, 0.8)), body_top - float(rng.uniform(0.0, 0.12)) * h
            cv2.circle(img, _pt(gx, gy), max(2, round(0.08 * w)), _c((80, 160, 200), rng, 80), -1, AA)
        cv2.ellipse(
            img,
            _pt(x + w / 2, body_top),
            _pt(0.47 * w, 0.09 * h),
            0,
            0,
            360,
            _darker(color, 0.5),
            max(1, round(w / 30)),
            AA,
        )
    else:
        cv2.ellipse(img, _pt(x + w / 2, body_top), _pt(0.5 * w, lid_h * 0.9), 0, 180, 360, _darker(color, 0.8), -1, AA)
        cv2.rectangle(
            img, _pt(x, body_top - 0.15 * lid_h), _pt(x + w, body_top + 0.25 * lid_h), _darker(color, 0.8), -1
        )
        cv2.rectangle(img, _pt(x + 0.4 * w, y + 0.02 * h), _pt(x + 0.6 * w, y + 0.08 * h), _darker(color, 0.45), -1)
    return Labelled("bin_open" if open_ else "bin_closed", (x, y, x + w, y + h))


def draw_flame(img: Image, x: float, y: float, w: float, h: float, rng: np.random.Generator) -> Labelled:
    """Flame as nested teardrops (red → orange → yellow → blue base) over a burner ring."""
    cx, base = x + w / 2, y + h
    cv2.ellipse(img, _pt(cx, base + 0.04 * h), _pt(0.75 * w, 0.1 * h), 0, 0, 360, (40, 40, 40), -1, AA)
    for frac, color in ((1.0, (0, 40, 230)), (0.8, (0, 130, 255)), (0.55, (60, 220, 255)), (0.3, (255, 170, 60))):
        hw, hh = 0.5 * w * frac, h * frac
        sway = float(rng.uniform(-0.12, 0.12)) * w
        pts = [
            _pt(
                cx + hw * math.sin(t) * (1 - t / math.pi) ** 0.3 * 1.0 + sway * (1 - t / math.pi) ** 2,
                base - hh * (1 - math.cos(t)) / 2,
            )
            for t in np.linspace(0, math.pi, 12)
        ]
        pts += [_pt(2 * cx - px, py) for px, py in reversed(pts)]
        cv2.fillPoly(img, [np.array(pts)], color, AA)
    return Labelled("flame", (x, y, x + w, y + h))


def draw_rodent(img: Image, x: float, y: float, w: float, h: float, rng: np.random.Generator) -> Labelled:
    """Side-view rat: grey-brown body, pointed snout, round ear, long pink tail."""
    color = _c((70, 85, 100), rng, 25)
    flip = rng.random() < 0.5
    body_w = 0.62 * w
    bx = x + (w - body_w / 2 - 0.02 * w if flip else body_w / 2 + 0.02 * w)
    d = -1 if flip else 1
    cy = y + 0.58 * h
    cv2.ellipse(img, _pt(bx, cy), _pt(body_w / 2, 0.4 * h), 0, 0, 360, color, -1, AA)
    cv2.ellipse(img, _pt(bx + d * 0.36 * w, cy + 0.05 * h), _pt(0.14 * w, 0.24 * h), 0, 0, 360, color, -1, AA)
    cv2.circle(img, _pt(bx + d * 0.3 * w, y + 0.25 * h), max(2, round(0.18 * h)), (150, 160, 200), -1, AA)
    cv2.circle(img, _pt(bx + d * 0.42 * w, cy - 0.05 * h), max(1, round(0.06 * h)), (10, 10, 10), -1, AA)
    tail_start = bx - d * body_w / 2
    tail_end = x if not flip else x + w
    cv2.line(
        img, _pt(tail_start, cy + 0.1 * h), _pt(tail_end, y + 0.95 * h), (150, 150, 210), max(1, round(0.07 * h)), AA
    )
    return Labelled("rodent", (x, y, x + w, y + h))


def draw_cockroach(img: Image, x: float, y: float, w: float, h: float, rng: np.random.Generator) -> Labelled:
    """Top-view roach: glossy red-brown oval, legs and long antennae."""
    cx, cy = x + w / 2, y + h / 2
    color = _c((20, 45, 95), rng, 15)
    t = max(1, round(h / 12))
    for s in (-1, 1):
        for k in (-0.25, 0.0, 0.25):
            cv2.line(img, _pt(cx + k * w, cy), _pt(cx + (k + 0.08) * w, cy + s * 0.5 * h), (15, 25, 45), t, AA)
        cv2.line(img, _pt(cx + 0.3 * w, cy + s * 0.08 * h), _pt(x + w, cy + s * 0.45 * h), (15, 25, 45), t, AA)
    cv2.ellipse(img, _pt(cx - 0.05 * w, cy), _pt(0.36 * w, 0.3 * h), 0, 0, 360, color, -1, AA)
    cv2.line(img, _pt(cx - 0.38 * w, cy), _pt(cx + 0.2 * w, cy), _darker(color, 0.5), t, AA)
    cv2.ellipse(img, _pt(cx + 0.28 * w, cy), _pt(0.08 * w, 0.17 * h), 0, 0, 360, (20, 30, 60), -1, AA)
    cv2.circle(img, _pt(cx - 0.15 * w, cy - 0.1 * h), max(1, round(h / 14)), (120, 160, 210), -1, AA)
    return Labelled("cockroach", (x, y, x + w, y + h))


def draw_cat(img: Image, x: float, y: float, w: float, h: float, rng: np.random.Generator) -> Labelled:
    """Sitting cat: pear body, round head with pointed ears, curled tail, whiskers."""
    fur = _pick(FUR, rng)
    cx = x + w / 2
    cv2.ellipse(img, _pt(cx, y + 0.7 * h), _pt(0.3 * w, 0.3 * h), 0, 0, 360, fur, -1, AA)
    cv2.ellipse(
        img, _pt(cx + 0.3 * w, y + 0.85 * h), _pt(0.18 * w, 0.12 * h), 0, 180, 360, fur, max(2, round(w / 14)), AA
    )
    hr = 0.2 * w
    hy = y + 0.15 * h + hr
    for s in (-1, 1):
        ear = np.array(
            [_pt(cx + s * 0.2 * w, y), _pt(cx + s * 0.04 * w, hy - 0.6 * hr), _pt(cx + s * 0.21 * w, hy - 0.2 * hr)]
        )
        cv2.fillPoly(img, [ear], fur, AA)
    cv2.circle(img, _pt(cx, hy), round(hr), fur, -1, AA)
    for s in (-1, 1):
        cv2.ellipse(
            img, _pt(cx + s * 0.35 * hr, hy - 0.1 * hr), _pt(0.16 * hr, 0.2 * hr), 0, 0, 360, (60, 200, 120), -1, AA
        )
        for k in (-0.1, 0.1):
            cv2.line(
                img,
                _pt(cx + s * 0.2 * hr, hy + 0.35 * hr),
                _pt(cx + s * 0.95 * w / 2, hy + (0.3 + k * 3) * hr),
                (230, 230, 230),
                1,
                AA,
            )
    return Labelled("cat", (x, y, x + w, y + h))


def draw_dog(img: Image, x: float, y: float, w: float, h: float, rng: np.random.Generator) -> Labelled:
    """Standing dog in profile: long body, four legs, head with snout and floppy ear, raised tail."""
    fur = _pick([(60, 110, 160), (30, 30, 30), (180, 190, 200), (40, 70, 120)], rng)
    d = -1 if rng.random() < 0.5 else 1
    cx = x + w / 2
    lw = max(2, round(0.07 * w))
    for k in (-0.3, -0.18, 0.15, 0.27):
        cv2.line(img, _pt(cx + k * w, y + 0.5 * h), _pt(cx + k * w, y + h - 1), fur, lw, AA)
    cv2.ellipse(img, _pt(cx - d * 0.05 * w, y + 0.5 * h), _pt(0.33 * w, 0.18 * h), 0, 0, 360, fur, -1, AA)
    cv2.line(img, _pt(cx - d * 0.35 * w, y + 0.42 * h), _pt(cx - d * 0.48 * w, y + 0.15 * h), fur, lw, AA)
    hx, hy = cx + d * 0.3 * w, y + 0.25 * h
    cv2.circle(img, _pt(hx, hy), round(0.13 * w), fur, -1, AA)
    cv2.ellipse(img, _pt(hx + d * 0.15 * w, hy + 0.06 * h), _pt(0.09 * w, 0.07 * h), 0, 0, 360, fur, -1, AA)
    cv2.circle(img, _pt(hx + d * 0.23 * w, hy + 0.04 * h), max(1, round(0.03 * w)), (10, 10, 10), -1, AA)
    cv2.ellipse(
        img, _pt(hx - d * 0.05 * w, hy + 0.08 * h), _pt(0.04 * w, 0.12 * h), 0, 0, 360, _darker(fur, 0.5), -1, AA
    )
    cv2.circle(img, _pt(hx + d * 0.05 * w, hy - 0.04 * h), max(1, round(0.02 * w)), (10, 10, 10), -1, AA)
    return Labelled("dog", (x, y, x + w, y + h))


def draw_bird(img: Image, x: float, y: float, w: float, h: float, rng: np.random.Generator) -> Labelled:
    """Perched bird: plump body, dark wing, orange beak, thin legs."""
    body = _pick([(90, 120, 150), (60, 60, 60), (200, 200, 200), (40, 90, 160)], rng)
    d = -1 if rng.random() < 0.5 else 1
    cx, cy = x + w / 2, y + 0.5 * h
    cv2.ellipse(img, _pt(cx - d * 0.05 * w, cy), _pt(0.34 * w, 0.27 * h), -d * 15, 0, 360, body, -1, AA)
    cv2.ellipse(
        img, _pt(cx - d * 0.1 * w, cy - 0.02 * h), _pt(0.25 * w, 0.14 * h), -d * 20, 0, 360, _darker(body, 0.5), -1, AA
    )
    hx, hy = cx + d * 0.25 * w, y + 0.3 * h
    cv2.circle(img, _pt(hx, hy), round(0.15 * h + 0.05 * w), body, -1, AA)
    beak = np.array(
        [
            _pt(hx + d * 0.1 * w, hy - 0.05 * h),
            _pt(x + (w if d > 0 else 0), hy + 0.02 * h),
            _pt(hx + d * 0.1 * w, hy + 0.08 * h),
        ]
    )
    cv2.fillPoly(img, [beak], (0, 140, 250), AA)
    cv2.circle(img, _pt(hx + d * 0.03 * w, hy - 0.04 * h), max(1, round(0.05 * h)), (0, 0, 0), -1, AA)
    for k in (-0.08, 0.08):
        cv2.line(img, _pt(cx + k * w, cy + 0.25 * h), _pt(cx + k * w, y + h - 1), (40, 80, 160), 1, AA)
    return Labelled("bird", (x, y, x + w, y + h))


def draw_clutter(img: Image, rng: np.random.Generator) -> None:
    """Unlabelled pots, shelves and tiles so the model learns what *not* to fire on."""
    hgt, wid = img.shape[:2]
    for _ in range(int(rng.integers(1, 4))):
        kind = rng.integers(3)
        x, y = float(rng.uniform(0, wid)), float(rng.uniform(0, hgt))
        s = float(rng.uniform(0.05, 0.15)) * hgt
        col = _c((150, 150, 150), rng, 70)
        if kind == 0:  # pot
            cv2.rectangle(img, _pt(x, y), _pt(x + 1.6 * s, y + s), col, -1)
            cv2.ellipse(img, _pt(x + 0.8 * s, y), _pt(0.8 * s, 0.15 * s), 0, 0, 360, _darker(col), -1, AA)
        elif kind == 1:  # shelf
            cv2.rectangle(img, _pt(x, y), _pt(x + 4 * s, y + 0.15 * s), col, -1)
        else:  # plate
            cv2.ellipse(img, _pt(x, y), _pt(s, 0.35 * s), 0, 0, 360, _c((230, 230, 230), rng, 20), -1, AA)


DRAWERS: dict[str, Callable[..., Labelled]] = {
    "bin_open": lambda img, x, y, w, h, rng: draw_bin(img, x, y, w, h, rng, True),
    "bin_closed": lambda img, x, y, w, h, rng: draw_bin(img, x, y, w, h, rng, False),
    "flame": draw_flame,
    "rodent": draw_rodent,
    "cockroach": draw_cockroach,
    "cat": draw_cat,
    "dog": draw_dog,
    "bird": draw_bird,
}
