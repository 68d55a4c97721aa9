"""Files under a root directory, written atomically (temp file + rename) so a crash leaves no half image."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from cloud_api.config import LocalStorageConfig
from cloud_api.storage.base import StorageError, check_key

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


class LocalStorage:
    def __init__(self, config: LocalStorageConfig) -> None:
        self.root = Path(config.root).resolve()
        self._root = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Plain ``os`` calls: ingest writes one file per event, and pathlib/mkstemp/mkdir-on-every-call
        were a fifth of its CPU. The temp name is unique per process and thread, so concurrent writers of
        the same key (a redelivered message) never share one; the last rename wins with the same bytes."""
        path = os.path.join(self._root, check_key(key))
        directory, name = os.path.split(path)
        tmp = f"{directory}/.tmp-{name}-{os.getpid()}-{threading.get_ident()}"
        try:
            try:
                fd = os.open(tmp, _CREATE, 0o644)
            except FileNotFoundError:  # first file of its day (or school): make the folders once
                os.makedirs(directory, exist_ok=True)
                fd = os.open(tmp, _CREATE, 0o644)
            try:
                with open(fd, "wb", closefd=True) as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc}") from exc

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise KeyError(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()
