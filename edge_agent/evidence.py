"""Turn a :class:`Violation` into a signed ``ViolationEvent`` envelope with two JPEGs.

The annotated JPEG shows boxes, labels, scores, time and camera (Chinese via a system CJK font
when one exists); the clean JPEG is the untouched picture. Both are downscaled to
``max_width``; their SHA-256 go into the header, which the Ed25519 signature covers (五定).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageDraw, ImageFont

from edge_agent.config import CameraConfig, DeviceConfig, EvidenceConfig
from edge_agent.rules.base import Violation
from mingchu.contract.envelope import attachment_ref, encode
from mingchu.contract.messages import Box, ModelInfo, Place, ViolationEvent
from mingchu.contract.signing import sign
from mingchu.taxonomy import default_taxonomy

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf"),
)
_RED, _YELLOW = (230, 40, 40), (255, 200, 0)


def find_font(preferred: Path | None) -> Path | None:
    """First usable font file; None means Pillow's built-in ASCII font."""
    for path in ((preferred,) if preferred else ()) + FONT_CANDIDATES:
        if path is not None and path.is_file():
            return path
    return None


def encode_jpeg(image_bgr: npt.NDArray[np.uint8], quality: int, max_width: int) -> tuple[bytes, int, int]:
    """JPEG bytes and (width, height) after downscaling to ``max_width``."""
    h, w = image_bgr.shape[:2]
    if w > max_width:
        size = (max_width, max(1, round(h * max_width / w)))
        image_bgr = np.asarray(cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes(), int(image_bgr.shape[1]), int(image_bgr.shape[0])


@dataclass(frozen=True)
class Annotator:
    """Draws boxes and a caption on a copy of the picture."""

    font_path: Path | None

    def _font(self, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        if self.font_path is not None:
            try:
                return ImageFont.truetype(str(self.font_path), size)
            except OSError:
                pass
        return ImageFont.load_default()

    @property
    def unicode(self) -> bool:
        return self.font_path is not None and "Mono" not in self.font_path.name

    def draw(
        self,
        image_bgr: npt.NDArray[np.uint8],
        boxes: list[tuple[tuple[float, float, float, float], str]],
        caption: str,
    ) -> npt.NDArray[np.uint8]:
        """``boxes`` are normalised xyxy with their label text."""
        img = Image.fromarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        draw = ImageDraw.Draw(img)
        w, h = img.size
        size = max(12, w // 60)
        font = self._font(size)
        for (x1, y1, x2, y2), text in boxes:
            rect = (x1 * w, y1 * h, x2 * w, y2 * h)
            draw.rectangle(rect, outline=_RED, width=max(2, w // 400))
            tb = draw.textbbox((rect[0], rect[1]), text, font=font)
            ty = rect[1] - (tb[3] - tb[1]) - 4 if rect[1] > (tb[3] - tb[1]) + 4 else rect[1]
            draw.rectangle((rect[0], ty, rect[0] + (tb[2] - tb[0]) + 4, ty + (tb[3] - tb[1]) + 4), fill=_RED)
            draw.text((rect[0] + 2, ty), text, fill=(255, 255, 255), font=font)
        tb = draw.textbbox((0, 0), caption, font=font)
        draw.rectangle((0, 0, (tb[2] - tb[0]) + 12, (tb[3] - tb[1]) + 10), fill=(0, 0, 0))
        draw.text((6, 3), caption, fill=_YELLOW, font=font)
        return np.asarray(cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR), dtype=np.uint8)


@dataclass(frozen=True)
class EvidenceResult:
    """A signed event, its attachments, and the encoded envelope bytes written to the outbox."""

    event: ViolationEvent
    attachments: dict[str, bytes]
    payload: bytes


class EvidenceBuilder:
    """Builds signed events for one device; stateless apart from its key and settings."""

    def __init__(
        self,
        device: DeviceConfig,
        settings: EvidenceConfig,
        cameras: dict[str, CameraConfig],
        key: Ed25519PrivateKey,
        model: ModelInfo | None = None,
    ) -> None:
        self.device, self.settings, self.cameras, self.key, self.model = device, settings, cameras, key, model
        self.tz = ZoneInfo(device.timezone)
        self.annotator = Annotator(find_font(settings.font_file))
        taxonomy = default_taxonomy()
        self.names = {c.id: (c.name_zh, c.name_en) for c in taxonomy.classes}

    def _caption(self, v: Violation, camera: CameraConfig) -> str:
        zh, en = self.names.get(v.class_id, (v.class_id, v.class_id))
        local = v.occurred_at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S %Z")
        if self.annotator.unicode:
            return f"{zh} | {camera.name or camera.id} | {local}"
        return f"{en} | {camera.id} | {local}"

    def build(self, v: Violation, sent_at: datetime | None = None) -> EvidenceResult:
        camera = self.cameras[v.camera_id]
        boxes: list[Box] = []
        drawn: list[tuple[tuple[float, float, float, float], str]] = []
        attachments: dict[str, bytes] = {}
        refs = []
        if v.frame is not None:
            fw, fh = v.frame.width, v.frame.height
            for xyxy, score, label, track in zip(
                v.detections.xyxy, v.detections.scores, v.detections.labels, v.detections.track_ids, strict=True
            ):
                x1, x2 = sorted((float(np.clip(xyxy[0] / fw, 0, 1)), float(np.clip(xyxy[2] / fw, 0, 1))))
                y1, y2 = sorted((float(np.clip(xyxy[1] / fh, 0, 1)), float(np.clip(xyxy[3] / fh, 0, 1))))
                tid = int(track) if track >= 0 else None
                boxes.append(Box(label=label, score=float(np.clip(score, 0, 1)), xyxy=(x1, y1, x2, y2), track_id=tid))
                drawn.append(((x1, y1, x2, y2), f"{label} {score:.2f}" + (f" #{tid}" if tid is not None else "")))
            picture = v.frame.best_image
            q, mw = self.settings.jpeg_quality, self.settings.max_width
            annotated = self.annotator.draw(picture, drawn, self._caption(v, camera))
            for name, img in (("annotated", annotated), ("clean", picture)):
                data, w, h = encode_jpeg(img, q, mw)
                attachments[name] = data
                refs.append(attachment_ref(name, data, w, h))
        place = Place(
            school_id=self.device.school_id,
            canteen_id=self.device.canteen_id,
            room_id=camera.room_id,
            room_type=v.room_type,
            camera_id=camera.id,
            camera_name=camera.name,
            zone_id=v.zone_id,
        )
        event = ViolationEvent(
            school_id=self.device.school_id,
            device_id=self.device.device_id,
            sent_at=sent_at or datetime.now(UTC),
            event_id=uuid.uuid4(),
            violation_class=v.class_id,  # type: ignore[arg-type]
            severity=v.severity,
            rule=v.rule[:64],
            occurred_at=v.occurred_at,
            timezone=self.device.timezone,
            place=place,
            track_id=v.track_id,
            score=v.score,
            duration_s=v.duration_s,
            boxes=tuple(boxes),
            model=self.model,
            attachments=tuple(refs),
        )
        signed = sign(event, self.key)
        return EvidenceResult(signed, attachments, encode(signed, attachments))
