"""Uploaded photos: trust the decoded pixels, not the file name; re-encode to drop EXIF (GPS!) and make thumbnails."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from cloud_api.config import RectificationConfig

_FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}


class ImageRejected(ValueError):
    """A clear reason an upload is not accepted (API: 400)."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    thumbnail: bytes
    content_type: str
    suffix: str
    width: int
    height: int
    sha256: str


def clean_image(name: str, raw: bytes, limits: RectificationConfig) -> CleanImage:
    if not raw:
        raise ImageRejected(f"{name}: file is empty")
    if len(raw) > limits.max_photo_bytes:
        raise ImageRejected(f"{name}: {len(raw)} bytes exceeds the limit of {limits.max_photo_bytes}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(raw))
            fmt = probe.format
            probe.verify()
            image = Image.open(io.BytesIO(raw))
            if image.width * image.height > limits.max_pixels:
                raise ImageRejected(f"{name}: {image.width}x{image.height} pixels exceeds {limits.max_pixels}")
            image.load()
    except ImageRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as exc:
        raise ImageRejected(f"{name}: not a readable image (JPEG, PNG or WebP expected): {exc}") from exc
    if fmt not in _FORMATS:
        raise ImageRejected(f"{name}: image format {fmt} is not accepted (JPEG, PNG or WebP)")
    content_type, suffix = _FORMATS[fmt]
    upright = ImageOps.exif_transpose(image)  # keep what the photographer saw, then drop every tag
    mode = "RGBA" if fmt != "JPEG" and upright.mode in ("RGBA", "LA", "P") else "RGB"
    pixels = upright.convert(mode)
    fresh = Image.frombytes(mode, pixels.size, pixels.tobytes())  # no info dict, no EXIF, no XMP, no ICC
    out = io.BytesIO()
    fresh.save(out, format=fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    thumb = fresh.copy()
    thumb.thumbnail((limits.thumbnail_px, limits.thumbnail_px))
    tout = io.BytesIO()
    thumb.convert("RGB").save(tout, format="JPEG", quality=80)
    data = out.getvalue()
    return CleanImage(
        data, tout.getvalue(), content_type, suffix, fresh.width, fresh.height, hashlib.sha256(data).hexdigest()
    )
