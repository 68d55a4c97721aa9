"""S3-compatible bucket via boto3 (optional: imported only when configured)."""

from __future__ import annotations

from typing import Any

from cloud_api.config import S3StorageConfig
from cloud_api.storage.base import StorageError, check_key


class S3Storage:
    def __init__(self, config: S3StorageConfig, client: Any | None = None) -> None:
        self.bucket = config.bucket
        self.prefix = config.prefix.strip("/")
        if client is None:
            try:
                import boto3
            except ImportError as exc:
                raise StorageError("storage type 's3' needs boto3 (pip install boto3)") from exc
            client = boto3.client("s3", endpoint_url=config.endpoint_url, region_name=config.region)
        self.client = client

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.object_key(key), Body=data, ContentType=content_type)
        except Exception as exc:  # botocore raises many types; all mean "not stored"
            raise StorageError(f"cannot write s3://{self.bucket}/{self.object_key(key)}: {exc}") from exc

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                raise KeyError(key) from exc
            raise StorageError(f"cannot read s3://{self.bucket}/{self.object_key(key)}: {exc}") from exc
        return bytes(response["Body"].read())

    def exists(self, key: str) -> bool:
        try:
            self.get(key)
        except KeyError:
            return False
        return True
