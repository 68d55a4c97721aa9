"""S3 storage against a real S3-compatible HTTP server (moto's server in its own process, real boto3).

Covers the backend on its own (round trip, prefixes, HEAD for exists, content types, addressing style,
credentials from env / profile, error messages naming bucket and key), ingest and the evidence API on
SQLite and PostgreSQL with S3 storage, and a missing bucket during MQTT ingest (nothing acked, nothing lost).
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cloud_api.app import create_app
from cloud_api.config import S3StorageConfig
from cloud_api.context import HubContext
from cloud_api.db.models import Case, Evidence, ViolationEventRow
from cloud_api.services.ingest import IngestService
from cloud_api.storage import StorageError, create_storage, evidence_key, photo_key
from cloud_api.storage.s3 import S3Storage
from tests.hub.helpers import World, jpeg, now
from tests.support.s3 import ACCESS_KEY, S3Server, free_port
from tests.support.waiting import wait_for


def _objects(server: S3Server, bucket: str, prefix: str) -> dict[str, Any]:
    listing = server.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return {o["Key"]: o for o in listing.get("Contents", [])}


class Calls:
    """S3 operations and request URLs / auth headers as boto3 sent them (botocore's public event hooks)."""

    def __init__(self, storage: S3Storage) -> None:
        self.operations: list[str] = []
        self.urls: list[str] = []
        self.authorization: list[str] = []
        events = storage.client.meta.events
        events.register("before-call.s3", self._call)
        events.register("before-send.s3", self._send)

    def _call(self, model: Any, **_: Any) -> None:
        self.operations.append(model.name)

    def _send(self, request: Any, **_: Any) -> None:
        self.urls.append(request.url)
        self.authorization.append(request.headers.get("Authorization", b"").decode() if request.headers else "")


# --- the backend on its own -----------------------------------------------------------------------------------


def test_put_get_exists_round_trip_with_content_type(s3_config: S3StorageConfig, s3_server: S3Server) -> None:
    storage = create_storage(s3_config)
    assert isinstance(storage, S3Storage)
    key = evidence_key("school-a", now(), uuid.uuid4(), "annotated")
    image = jpeg()
    assert not storage.exists(key)
    storage.put(key, image, "image/jpeg")
    storage.put(key, image, "image/jpeg")  # idempotent
    assert storage.get(key) == image and storage.exists(key)
    stored = s3_server.client().head_object(Bucket=s3_config.bucket, Key=f"{s3_config.prefix}/{key}")
    assert stored["ContentType"] == "image/jpeg" and stored["ContentLength"] == len(image)
    storage.put("quarantine/raw.bin", b"\x00\x01")
    raw = s3_server.client().head_object(Bucket=s3_config.bucket, Key=f"{s3_config.prefix}/quarantine/raw.bin")
    assert raw["ContentType"] == "application/octet-stream"
    with pytest.raises(KeyError):
        storage.get("evidence/none.jpg")


@pytest.mark.parametrize(("prefix", "stored_under"), [("", ""), ("/mingchu/", "mingchu/"), ("a/b", "a/b/")])
def test_prefix_handling(s3_server: S3Server, s3_env: None, prefix: str, stored_under: str) -> None:
    bucket = s3_server.create_bucket()  # own bucket: the empty prefix writes at its root
    storage = S3Storage(
        S3StorageConfig(bucket=bucket, prefix=prefix, endpoint_url=s3_server.endpoint_url, addressing_style="path")
    )
    key = photo_key("school-a", 12, "ab" * 32, ".jpg")
    storage.put(key, b"img", "image/jpeg")
    assert list(_objects(s3_server, bucket, "")) == [f"{stored_under}{key}"]
    assert storage.get(key) == b"img"


def test_exists_is_a_head_request_not_a_download(s3_config: S3StorageConfig) -> None:
    storage = S3Storage(s3_config)
    storage.put("evidence/big.jpg", b"x" * 200_000, "image/jpeg")
    calls = Calls(storage)
    assert storage.exists("evidence/big.jpg")
    assert not storage.exists("evidence/absent.jpg")
    assert calls.operations == ["HeadObject", "HeadObject"]


def test_path_style_and_credentials_from_the_standard_env_vars(s3_config: S3StorageConfig, s3_server: S3Server) -> None:
    storage = S3Storage(s3_config)
    calls = Calls(storage)
    storage.put("evidence/a.jpg", b"a")
    assert calls.urls == [f"{s3_server.endpoint_url}/{s3_config.bucket}/{s3_config.prefix}/evidence/a.jpg"]
    assert f"Credential={ACCESS_KEY}/" in calls.authorization[0]


def test_credentials_from_a_named_profile(
    s3_config: S3StorageConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text("[canteen]\naws_access_key_id = from-profile\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    storage = S3Storage(s3_config.model_copy(update={"profile": "canteen"}))
    calls = Calls(storage)
    storage.put("evidence/p.jpg", b"p")
    assert storage.get("evidence/p.jpg") == b"p"
    assert "Credential=from-profile/" in calls.authorization[0]
    with pytest.raises(StorageError, match=r"cannot set up the S3 client for bucket .*nobody"):
        S3Storage(s3_config.model_copy(update={"profile": "nobody"}))


def test_missing_bucket_is_a_storage_error_naming_bucket_and_key(s3_config: S3StorageConfig) -> None:
    gone = f"gone-{uuid.uuid4().hex[:8]}"
    storage = S3Storage(s3_config.model_copy(update={"bucket": gone}))
    where = re.escape(f"s3://{gone}/{s3_config.prefix}/evidence/x.jpg")
    with pytest.raises(StorageError, match=f"cannot write {where}: .*NoSuchBucket"):
        storage.put("evidence/x.jpg", b"x")
    with pytest.raises(StorageError, match=f"cannot read {where}: .*NoSuchBucket"):
        storage.get("evidence/x.jpg")  # not KeyError: the bucket, not the object, is missing


def test_server_down_is_a_storage_error_naming_bucket_and_key(s3_config: S3StorageConfig) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    storage = S3Storage(
        s3_config.model_copy(update={"endpoint_url": down, "max_attempts": 1, "connect_timeout_s": 2.0})
    )
    where = re.escape(f"s3://{s3_config.bucket}/{s3_config.prefix}/evidence/x.jpg")
    for call in (lambda: storage.put("evidence/x.jpg", b"x"), lambda: storage.get("evidence/x.jpg")):
        with pytest.raises(StorageError, match=f"{where}: Could not connect to the endpoint URL"):
            call()
    with pytest.raises(StorageError, match=f"cannot check {where}"):
        storage.exists("evidence/x.jpg")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/./b", ""])
def test_bad_keys_are_refused_before_any_request(s3_config: S3StorageConfig, key: str) -> None:
    storage = S3Storage(s3_config)
    calls = Calls(storage)
    for call in (lambda: storage.put(key, b"x"), lambda: storage.get(key), lambda: storage.exists(key)):
        with pytest.raises(ValueError, match="invalid storage key"):
            call()
    assert calls.operations == []


class _BuggyClient:
    def put_object(self, **kwargs: Any) -> None:
        raise TypeError("a bug, not an outage")


def test_a_bug_is_not_turned_into_a_retryable_storage_error() -> None:
    """Only boto errors mean "storage unavailable" (ingest retries those forever); a real server can't do this."""
    storage = S3Storage(S3StorageConfig(bucket="b"), client=_BuggyClient())
    with pytest.raises(TypeError):
        storage.put("a.jpg", b"x")


def test_without_boto3_s3_is_a_clear_error_and_a_local_hub_still_starts(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['boto3'] = sys.modules['botocore'] = None\n"
        "from cloud_api.app import create_app\n"
        "from cloud_api.config import HubConfig, S3StorageConfig\n"
        "from cloud_api.context import build_context\n"
        "from cloud_api.storage import StorageError, create_storage\n"
        f"hub = build_context(HubConfig.model_validate({{'database': {{'url': 'sqlite:///{tmp_path}/h.db'}},"
        f" 'storage': {{'root': '{tmp_path}/ev'}}}}))\n"
        "create_app(hub=hub); hub.storage.put('a/b.jpg', b'x'); assert hub.storage.get('a/b.jpg') == b'x'\n"
        "try:\n"
        "    create_storage(S3StorageConfig(bucket='b'))\n"
        "except StorageError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "storage type 's3' needs boto3" in done.stdout


# --- the hub with S3 storage (SQLite and PostgreSQL) ------------------------------------------------------------


def _count(hub: HubContext, model: type) -> int:
    with hub.db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_ingested_evidence_is_served_by_the_api_from_s3(
    s3_hub: HubContext, s3_config: S3StorageConfig, s3_server: S3Server
) -> None:
    world = World(s3_hub)
    image = jpeg(color=(10, 200, 40))
    payload, event = world.event(image=image)
    outcome = s3_hub.ingest_service().handle(world.topic(), payload)
    assert outcome.outcome == "accepted" and outcome.case_id is not None
    key = evidence_key(world.school_a, event.occurred_at, event.event_id, "annotated")
    stored = _objects(s3_server, s3_config.bucket, f"{s3_config.prefix}/")
    assert list(stored) == [f"{s3_config.prefix}/{key}"]

    with TestClient(create_app(hub=s3_hub)) as client:
        detail = client.get(f"/api/v1/cases/{outcome.case_id}", headers=world.auth("head_a"))
        assert detail.status_code == 200, detail.text
        url = detail.json()["evidence"][0]["url"]
        image_response = client.get(url, headers=world.auth("head_a"))
        assert image_response.status_code == 200
        assert image_response.content == image and image_response.headers["content-type"] == "image/jpeg"
        assert client.get(url, headers=world.auth("head_b")).status_code == 404  # scoping still applies

        s3_server.client().delete_object(Bucket=s3_config.bucket, Key=f"{s3_config.prefix}/{key}")
        missing = client.get(url, headers=world.auth("head_a"))
        assert missing.status_code == 404 and "missing from storage" in missing.text

        assert isinstance(s3_hub.storage, S3Storage)
        s3_hub.storage.bucket = f"gone-{uuid.uuid4().hex[:8]}"  # the bucket disappears under the running hub
        unavailable = client.get(url, headers=world.auth("head_a"))
        assert unavailable.status_code == 503 and "storage is unavailable" in unavailable.text


def test_ingest_with_bucket_missing_stores_nothing_then_succeeds(
    s3_hub: HubContext, s3_config: S3StorageConfig, s3_server: S3Server
) -> None:
    world = World(s3_hub)
    bucket = f"later-{uuid.uuid4().hex[:8]}"
    storage = S3Storage(s3_config.model_copy(update={"bucket": bucket}))
    service = IngestService(s3_hub.db, storage, s3_hub.config, s3_hub.notifier, s3_hub.taxonomy)
    payload, event = world.event()
    with pytest.raises(StorageError, match=re.escape(f"s3://{bucket}/{s3_config.prefix}/evidence/")):
        service.handle(world.topic(), payload)
    assert (_count(s3_hub, ViolationEventRow), _count(s3_hub, Case), _count(s3_hub, Evidence)) == (0, 0, 0)
    s3_server.create_bucket(bucket)
    outcome = service.handle(world.topic(), payload)  # the same message, redelivered
    assert outcome.outcome == "accepted"
    key = evidence_key(world.school_a, event.occurred_at, event.event_id, "annotated")
    assert storage.get(key)[:2] == b"\xff\xd8"


@pytest.mark.mqtt
@pytest.mark.slow
def test_worker_waits_out_a_missing_bucket_without_acking(
    s3_hub: HubContext, s3_config: S3StorageConfig, s3_server: S3Server
) -> None:
    from tests.hub.test_ingest_mqtt import AckLog, Publisher, _broker_reason, _ids, cases, make_worker, retries

    reason = _broker_reason()
    if reason:
        pytest.skip(reason)
    world = World(s3_hub, suffix=f"-{uuid.uuid4().hex[:8]}")
    bucket = f"later-{uuid.uuid4().hex[:8]}"
    storage = S3Storage(s3_config.model_copy(update={"bucket": bucket}))
    service = IngestService(s3_hub.db, storage, s3_hub.config, s3_hub.notifier, s3_hub.taxonomy)
    client_id, group = _ids()
    acks = AckLog()
    worker = make_worker(s3_hub, client_id, group, service=service, before_ack=acks, schools=(world.school_a,))
    publisher = Publisher()
    try:
        publisher.publish(world.topic(), world.event()[0])
        wait_for(lambda: retries(s3_hub) >= 3, 20, what="retries while the bucket is missing")
        assert acks.count(world.topic()) == 0 and cases(s3_hub, world.school_a) == 0
        s3_server.create_bucket(bucket)
        wait_for(lambda: cases(s3_hub, world.school_a) == 1, 20, what="processed once the bucket exists")
        wait_for(lambda: acks.count(world.topic()) == 1, 5, what="acked after commit")
    finally:
        publisher.close()
        worker.stop()
    assert len(_objects(s3_server, bucket, "")) == 1
