"""Storage backends: local files and the registry (S3 against a real server: test_storage_s3.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloud_api.config import LocalStorageConfig
from cloud_api.storage import StorageError, create_storage, evidence_key
from cloud_api.storage.registry import StorageRegistry


def test_local_put_get_exists_and_atomic(tmp_path: Path) -> None:
    storage = create_storage(LocalStorageConfig(root=tmp_path))
    key = evidence_key("school-a", datetime(2026, 3, 4, tzinfo=UTC), uuid.UUID(int=1), "annotated")
    assert key == "evidence/school-a/2026/03/04/00000000-0000-0000-0000-000000000001-annotated.jpg"
    storage.put(key, b"jpeg-bytes")
    storage.put(key, b"jpeg-bytes")  # idempotent
    assert storage.get(key) == b"jpeg-bytes" and storage.exists(key)
    assert not list(tmp_path.rglob(".tmp-*"))
    with pytest.raises(KeyError):
        storage.get("evidence/none.jpg")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "a//b", "a/./b", "", "a\\b"])
def test_keys_cannot_escape_the_root(tmp_path: Path, key: str) -> None:
    storage = create_storage(LocalStorageConfig(root=tmp_path))
    with pytest.raises(ValueError, match="invalid storage key"):
        storage.put(key, b"x")


def test_local_write_failure_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    storage = create_storage(LocalStorageConfig(root=blocker))  # root is a file: cannot mkdir under it
    with pytest.raises(StorageError, match="cannot write"):
        storage.put("a/b.jpg", b"x")


def test_registry_is_keyed_by_type_and_extensible(tmp_path: Path) -> None:
    registry = StorageRegistry()
    registry.register("memory", lambda config: "a memory backend")  # type: ignore[arg-type,return-value]
    assert registry.create(type("C", (), {"type": "memory"})()) == "a memory backend"
    with pytest.raises(ValueError, match="unknown storage type 'ftp'"):
        registry.create(type("C", (), {"type": "ftp"})())
    assert "memory" not in StorageRegistry()._factories  # registries don't share state
