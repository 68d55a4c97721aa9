"""S3-compatible bucket via boto3 (optional: imported only when configured).

Every failure other than "no such key" becomes :class:`StorageError` naming ``s3://bucket/key``, so
ingest retries (nothing acked) and the API answers 503. Credentials come from boto3's default chain.
"""

from __future__ import annotations

from typing import Any

from cloud_api.config import S3StorageConfig
from cloud_api.storage.base import StorageError, check_key

# error codes meaning "this key is not there" (HEAD answers a bare 404 without a body, hence "404"/"NotFound")
_MISSING = frozenset({"NoSuchKey", "NotFound", "404"})


def _botocore() -> tuple[Any, tuple[type[Exception], ...]]:
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as exc:
        raise StorageError("storage type 's3' needs boto3 (pip install 'mingchu[s3]' or pip install boto3)") from exc
    return boto3, (BotoCoreError, ClientError)


def make_client(config: S3StorageConfig) -> Any:
    """A boto3 S3 client for ``config``: endpoint, region, addressing style, timeouts, retries, profile."""
    boto3, _ = _botocore()
    from botocore.config import Config

    client_config = Config(
        s3={"addressing_style": config.addressing_style},
        connect_timeout=config.connect_timeout_s,
        read_timeout=config.read_timeout_s,
        retries={"max_attempts": config.max_attempts, "mode": "standard"},
    )
    try:
        session = boto3.session.Session(profile_name=config.profile)
        return session.client("s3", endpoint_url=config.endpoint_url, region_name=config.region, config=client_config)
    except Exception as exc:  # unknown profile, malformed endpoint URL…: a config problem, say which
        raise StorageError(f"cannot set up the S3 client for bucket {config.bucket!r}: {exc}") from exc


def _code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


class S3Storage:
    def __init__(self, config: S3StorageConfig, client: Any | None = None) -> None:
        _, self._errors = _botocore()
        self.bucket = config.bucket
        self.prefix = config.prefix.strip("/")
        self.client = client if client is not None else make_client(config)

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.object_key(key)}"

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        object_key = self.object_key(key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=object_key, Body=data, ContentType=content_type)
        except self._errors as exc:
            raise StorageError(f"cannot write {self._where(key)}: {exc}") from exc

    def get(self, key: str) -> bytes:
        object_key = self.object_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=object_key)
            return bytes(response["Body"].read())
        except self._errors as exc:
            if _code(exc) in _MISSING:
                raise KeyError(key) from exc
            raise StorageError(f"cannot read {self._where(key)}: {exc}") from exc

    def exists(self, key: str) -> bool:
        """A HEAD request, no download (a HEAD 404 has no body: a missing bucket also answers ``False``)."""
        object_key = self.object_key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=object_key)
        except self._errors as exc:
            if _code(exc) in _MISSING:
                return False
            raise StorageError(f"cannot check {self._where(key)}: {exc}") from exc
        return True
