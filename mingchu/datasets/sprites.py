"""Procedural drawings of every vocabulary label, each returning the exact boxes it drew.

Shapes are deliberately cartoonish but distinct in outline *and* colour (white toque vs hair,
blue nitrile vs skin, white jacket with buttons vs coloured shirt vs skin) so a tiny model can
learn them in minutes; they demonstrate the pipeline, they are not a substitute for real footage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Box = tuple[float, float, float, float]
AA = cv2.LINE_AA

SKIN = [(180, 200, 235), (150, 180, 225), (120, 160, 210), (90, 130, 185), (70, 105, 160), (160, 190, 240)]
HAIR = [(20, 20, 25), (30, 45, 70), (40, 40, 40), (25, 60, 100), (70, 70, 75)]
GLOVE = [(200, 120, 30), (150, 60, 110), (30, 30, 30), (220, 160, 60), (140, 60, 40)]
MASK = [(240, 220, 190), (245, 245, 245), (225, 200, 150), (60, 60, 60)]
SHIRT = [(40, 40, 200), (30, 140, 30), (160, 60, 30), (20, 160, 200), (120, 30, 120), (60, 60, 60), (0, 90, 160)]


@dataclass(frozen=True)
class Labelled:
    """One drawn object: vocabulary label and pixel xyxy box."""

    label: str
    box: Box


def _c(color: tuple[int, int, int], rng: np.random.Generator, jitter: int = 18) -> tuple[int, int, int]:
    """Colour with per-instance jitter so the model cannot key on one exact RGB value."""
    return tuple(int(np.clip(v + rng.integers(-jitter, jitter + 1), 0, 255)) for v in color)  # type: ignore[return-value]


def _pick(options: list[tuple[int, int, int]], rng: np.random.Generator) -> tuple[int, int, int]:
    return _c(options[int(rng.integers(len(options)))], rng)


def _pt(x: float, y: float) -> tuple[int, int]:
    return round(x), round(y)


def union(*boxes: Box) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _darker(color: tuple[int, int, int], f: float = 0.6) -> tuple[int, int, int]:
    return tuple(int(v * f) for v in color)  # type: ignore[return-value]


# --- person parts -----------------------------------------------------------------------------


def draw_hand(
    img: Image, x: float, y: float, r: float, gloved: bool, skin: tuple[int, int, int], glove: tuple[int, int, int]
) -> Labelled:
    """A mitten-shaped hand with finger grooves; gloves add a cuff band and a sheen."""
    color = glove if gloved else skin
    cv2.ellipse(img, _pt(x, y), _pt(r, r * 1.15), 0, 0, 360, color, -1, AA)
    for k in (-0.45, 0.0, 0.45):
        cv2.line(
            img, _pt(x + k * r, y + 0.2 * r), _pt(x + k * r, y + 1.05 * r), _darker(color), max(1, round(r / 5)), AA
        )
    if gloved:
        cv2.rectangle(img, _pt(x - r * 1.05, y - r * 1.2), _pt(x + r * 1.05, y - r * 0.75), _darker(color, 0.75), -1)
        cv2.circle(img, _pt(x - 0.35 * r, y - 0.1 * r), max(1, round(r / 4)), (255, 255, 255), -1, AA)
        top = y - r * 1.2
    else:
        top = y - r * 1.15
    return Labelled("hand_glove" if gloved else "hand_bare", (x - r * 1.05, top, x + r * 1.05, y + r * 1.15))


def draw_chef_hat(img: Image, cx: float, band_y: float, r: float, height: float) -> Box:
    """White toque: a band plus a puffy crown of overlapping circles, grey outline for contrast."""
    white, edge = (248, 248, 248), (170, 170, 170)
    band_h = 0.45 * r
    x0, x1 = cx - 1.05 * r, cx + 1.05 * r
    crown_r = 0.62 * r
    crown_cy = band_y - band_h - (height - band_h) + crown_r
    for dx in (-0.55 * r, 0.55 * r, 0.0):
        cv2.circle(img, _pt(cx + dx, crown_cy), round(crown_r), edge, -1, AA)
        cv2.circle(img, _pt(cx + dx, crown_cy), round(crown_r) - 1, white, -1, AA)
    cv2.rectangle(img, _pt(x0 + 0.15 * r, crown_cy), _pt(x1 - 0.15 * r, band_y - band_h), white, -1)
    cv2.rectangle(img, _pt(x0, band_y - band_h), _pt(x1, band_y), edge, -1)
    cv2.rectangle(img, _pt(x0 + 1, band_y - band_h + 1), _pt(x1 - 1, band_y - 1), (235, 235, 235), -1)
    return (min(x0, cx - 0.55 * r - crown_r), crown_cy - crown_r, max(x1, cx + 0.55 * r + crown_r), band_y)


def draw_head(
    img: Image,
    cx: float,
    cy: float,
    r: float,
    hat: bool,
    mask: bool,
    skin: tuple[int, int, int],
    rng: np.random.Generator,
) -> list[Labelled]:
    """Head (with toque or hair) and face (masked or not); the face box is brows to chin."""
    hair = _pick(HAIR, rng)
    cv2.circle(img, _pt(cx, cy), round(r), skin, -1, AA)
    head_box: Box = (cx - r, cy - r, cx + r, cy + r)
    if hat:
        hat_h = r * float(rng.uniform(1.4, 2.0))
        head_box = union(head_box, draw_chef_hat(img, cx, cy - 0.45 * r, r, hat_h))
    else:
        cv2.ellipse(img, _pt(cx, cy - 0.25 * r), _pt(r * 1.05, r * 0.95), 0, 180, 360, hair, -1, AA)
        cv2.rectangle(img, _pt(cx - 1.02 * r, cy - 0.35 * r), _pt(cx + 1.02 * r, cy - 0.2 * r), hair, -1)
        head_box = (cx - 1.05 * r, cy - 1.2 * r, cx + 1.05 * r, cy + r)
    eye_y, eye_dx = cy + 0.05 * r, 0.38 * r
    for s in (-1, 1):
        cv2.circle(img, _pt(cx + s * eye_dx, eye_y), max(1, round(0.12 * r)), (30, 30, 30), -1, AA)
    if mask:
        color = _pick(MASK, rng)
        top, bottom = cy + 0.25 * r, cy + 0.92 * r
        cv2.rectangle(img, _pt(cx - 0.78 * r, top), _pt(cx + 0.78 * r, bottom), color, -1)
        for k in (0.35, 0.6):
            y = top + k * (bottom - top)
            cv2.line(img, _pt(cx - 0.7 * r, y), _pt(cx + 0.7 * r, y), _darker(color, 0.8), 1, AA)
        for s in (-1, 1):
            cv2.line(img, _pt(cx + s * 0.78 * r, top + 2), _pt(cx + s * r, cy - 0.1 * r), (200, 200, 200), 1, AA)
    else:
        cv2.line(img, _pt(cx, cy + 0.15 * r), _pt(cx - 0.08 * r, cy + 0.42 * r), _darker(skin, 0.7), 1, AA)
        cv2.ellipse(
            img, _pt(cx, cy + 0.62 * r), _pt(0.3 * r, 0.12 * r), 0, 0, 180, (60, 50, 150), max(1, round(r / 8)), AA
        )
    face = Labelled("face_mask" if mask else "face_bare", (cx - 0.82 * r, cy - 0.25 * r, cx + 0.82 * r, cy + r))
    return [Labelled("head_hat" if hat else "head_bare", head_box), face]


def draw_torso(
    img: Image,
    cx: float,
    top: float,
    w: float,
    h: float,
    kind: str,
    skin: tuple[int, int, int],
    rng: np.random.Generator,
) -> tuple[Labelled | None, tuple[int, int, int]]:
    """Torso: white double-breasted chef jacket, coloured/striped shirt, or bare skin.

    Returns the torso label (None for street clothes, which have no label) and the sleeve colour.
    """
    pts = np.array(
        [_pt(cx - w / 2, top), _pt(cx + w / 2, top), _pt(cx + 0.42 * w, top + h), _pt(cx - 0.42 * w, top + h)]
    )
    if kind == "uniform":
        color = _c((240, 240, 240), rng, 10)
        cv2.fillPoly(img, [pts], color, AA)
        cv2.polylines(img, [pts], True, (175, 175, 175), 1, AA)
        for s in (-1, 1):
            for k in range(3):
                cv2.circle(
                    img,
                    _pt(cx + s * 0.16 * w, top + (0.25 + 0.22 * k) * h),
                    max(1, round(w / 22)),
                    (40, 40, 40),
                    -1,
                    AA,
                )
        cv2.line(img, _pt(cx - 0.2 * w, top), _pt(cx, top + 0.12 * h), (150, 150, 150), 1, AA)
        cv2.line(img, _pt(cx + 0.2 * w, top), _pt(cx, top + 0.12 * h), (150, 150, 150), 1, AA)
        sleeve = color
    elif kind == "street":
        color = _pick(SHIRT, rng)
        cv2.fillPoly(img, [pts], color, AA)
        if rng.random() < 0.6:
            stripe = _darker(color, 0.5) if rng.random() < 0.5 else _c((230, 230, 230), rng)
            step = max(3, round(h / float(rng.uniform(4, 8))))
            mask = np.zeros(img.shape[:2], np.uint8)
            cv2.fillPoly(mask, [pts], 255)
            layer = img.copy()
            for y in range(round(top) + step // 2, round(top + h), step):
                cv2.line(layer, _pt(cx - w, y), _pt(cx + w, y), stripe, max(1, step // 3))
            img[mask > 0] = layer[mask > 0]
        sleeve = color
    else:
        cv2.fillPoly(img, [pts], skin, AA)
        for s in (-1, 1):
            cv2.circle(img, _pt(cx + s * 0.2 * w, top + 0.3 * h), max(1, round(w / 30)), _darker(skin, 0.65), -1, AA)
        cv2.circle(img, _pt(cx, top + 0.75 * h), max(1, round(w / 30)), _darker(skin, 0.65), -1, AA)
        sleeve = skin
    if kind == "street":
        return None, sleeve
    return Labelled(kind, (cx - w / 2, top, cx + w / 2, top + h)), sleeve


# --- whole person and held props ------------------------------------------------------------


@dataclass(frozen=True)
class PersonStyle:
    """What one synthetic worker wears and holds; the generator samples these per person."""

    hat: bool
    mask: bool
    torso: str  # uniform | street (unlabelled: no_uniform fires on the missing uniform box) | bare_torso
    gloves: bool
    prop: str  # none | cigarette | phone


def draw_cigarette(img: Image, x: float, y: float, length: float, angle: float) -> Labelled:
    """White stick with a glowing tip and a wisp of smoke (smoke is outside the box)."""
    thick = max(2, round(length / 6))
    ex, ey = x + length * math.cos(angle), y + length * math.sin(angle)
    cv2.line(img, _pt(x, y), _pt(ex, ey), (245, 245, 245), thick, AA)
    cv2.line(img, _pt(x, y), _pt(x + 0.25 * (ex - x), y + 0.25 * (ey - y)), (70, 150, 215), thick, AA)
    cv2.circle(img, _pt(ex, ey), max(1, thick - 1), (20, 80, 255), -1, AA)
    for k in range(3):
        cv2.circle(img, _pt(ex + 2 * k, ey - thick * (2 + 2.2 * k)), max(1, thick - 1 + k), (190, 190, 190), 1, AA)
    pad = thick / 2 + 1
    return Labelled("cigarette", (min(x, ex) - pad, min(y, ey) - pad, max(x, ex) + pad, max(y, ey) + pad))


def draw_phone(img: Image, cx: float, bottom: float, w: float, rng: np.random.Generator) -> Labelled:
    """Black slab with a lit screen and app tiles, held upright."""
    h = w * 1.8
    x0, y0, x1, y1 = cx - w / 2, bottom - h, cx + w / 2, bottom
    cv2.rectangle(img, _pt(x0, y0), _pt(x1, y1), (25, 25, 25), -1)
    screen = _c((235, 180, 60), rng, 30)
    m = max(1.0, w * 0.12)
    cv2.rectangle(img, _pt(x0 + m, y0 + 1.6 * m), _pt(x1 - m, y1 - 1.6 * m), screen, -1)
    tile = max(1.0, (w - 2 * m) / 4)
    for i in range(2):
        for j in range(3):
            tx, ty = x0 + m + tile * (0.5 + 1.6 * i), y0 + 2.2 * m + tile * 1.5 * j
            cv2.rectangle(img, _pt(tx, ty), _pt(tx + tile, ty + tile), _c((255, 255, 255), rng, 40), -1)
    return Labelled("phone", (x0, y0, x1, y1))


def draw_person(
    img: Image, cx: float, feet: float, body_h: float, style: PersonStyle, rng: np.random.Generator
) -> list[Labelled]:
    """A front-facing worker; returns the person box plus head, face, torso and both hands."""
    B = body_h
    skin = _pick(SKIN, rng)
    glove = _pick(GLOVE, rng)
    r = 0.075 * B
    cy = feet - B + r
    torso_top, torso_h, torso_w = cy + r + 0.015 * B, 0.34 * B, 0.30 * B
    legs_top = torso_top + torso_h - 2
    trousers = _c((40, 40, 50), rng, 25)
    for s in (-1, 1):
        cv2.rectangle(img, _pt(cx + s * 0.015 * B, legs_top), _pt(cx + s * 0.13 * B, feet - 0.03 * B), trousers, -1)
        cv2.rectangle(img, _pt(cx + s * 0.01 * B, feet - 0.035 * B), _pt(cx + s * 0.15 * B, feet), (20, 20, 20), -1)
    cv2.rectangle(img, _pt(cx - 0.04 * B, cy + 0.8 * r), _pt(cx + 0.04 * B, torso_top + 2), skin, -1)
    torso, sleeve = draw_torso(img, cx, torso_top, torso_w, torso_h, style.torso, skin, rng)
    parts = [torso] if torso else []
    arm_w = max(2, round(0.065 * B))
    hand_r = 0.05 * B
    shoulder_y = torso_top + 0.05 * B
    raise_side = int(rng.choice([-1, 1]))
    held: list[tuple[float, float, int]] = []
    for s in (-1, 1):
        sx = cx + s * 0.44 * torso_w
        if style.prop != "none" and s == raise_side:
            hx, hy = cx + s * float(rng.uniform(0.1, 0.16)) * B, cy + float(rng.uniform(0.6, 2.2)) * r
        else:
            hx = sx + s * float(rng.uniform(0.02, 0.2)) * B
            hy = shoulder_y + float(rng.uniform(0.2, 0.31)) * B
        ex = (sx + hx) / 2 + s * 0.07 * B
        ey = (shoulder_y + hy) / 2 + 0.03 * B
        forearm = sleeve if rng.random() < 0.5 else skin
        cv2.line(img, _pt(sx, shoulder_y), _pt(ex, ey), sleeve, arm_w, AA)
        cv2.line(img, _pt(ex, ey), _pt(hx, hy), forearm, arm_w, AA)
        held.append((hx, hy, s))
    parts.extend(draw_head(img, cx, cy, r, style.hat, style.mask, skin, rng))
    for hx, hy, _ in held:
        parts.append(draw_hand(img, hx, hy, hand_r, style.gloves, skin, glove))
    hx, hy, s = next(h for h in held if h[2] == raise_side)
    if style.prop == "phone":
        parts.append(draw_phone(img, hx, hy - 0.3 * hand_r, max(6.0, 0.075 * B), rng))
    elif style.prop == "cigarette":
        length = max(10.0, 0.12 * B)
        if not style.mask and rng.random() < 0.5:
            parts.append(draw_cigarette(img, cx + s * 0.2 * r, cy + 0.62 * r, length, math.pi / 2 - s * 1.2))
        else:
            parts.append(draw_cigarette(img, hx + s * 0.8 * hand_r, hy - 0.6 * hand_r, length, -math.pi / 2 + s * 1.0))
    person = union(*(p.box for p in parts), (cx - 0.16 * B, feet - B, cx + 0.16 * B, feet))
    return [Labelled("person", person), *parts]
