"""Evidence storage behind one small interface; backends registered by config ``type``."""

from cloud_api.storage.base import (
    Storage,
    StorageError,
    case_image_key,
    evidence_key,
    photo_key,
    quarantine_key,
)
from cloud_api.storage.registry import create_storage, register_storage

__all__ = [
    "Storage",
    "StorageError",
    "case_image_key",
    "create_storage",
    "evidence_key",
    "photo_key",
    "quarantine_key",
    "register_storage",
]
