"""Registry of storage backends keyed by config ``type``; other backends register themselves here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cloud_api.storage.base import Storage


def _local(config: Any) -> Storage:
    from cloud_api.storage.local import LocalStorage

    return LocalStorage(config)


def _s3(config: Any) -> Storage:
    from cloud_api.storage.s3 import S3Storage

    return S3Storage(config)


_BUILTIN: dict[str, Callable[[Any], Storage]] = {"local": _local, "s3": _s3}


class StorageRegistry:
    """A registry instance (no module-level mutable state): builtins plus what callers add."""

    def __init__(self) -> None:
        self._factories = dict(_BUILTIN)

    def register(self, type_name: str, factory: Callable[[Any], Storage]) -> None:
        self._factories[type_name] = factory

    def create(self, config: Any) -> Storage:
        try:
            factory = self._factories[config.type]
        except KeyError:
            raise ValueError(f"unknown storage type {config.type!r}; known: {sorted(self._factories)}") from None
        return factory(config)


def register_storage(registry: StorageRegistry, type_name: str, factory: Callable[[Any], Storage]) -> None:
    registry.register(type_name, factory)


def create_storage(config: Any, registry: StorageRegistry | None = None) -> Storage:
    return (registry or StorageRegistry()).create(config)
