"""Hub configuration: one YAML file, overridable by ``MINGCHU_HUB__SECTION__KEY`` environment variables.

Every field is described so ``config_reference(HubConfig, ...)`` documents itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from cloud_api.people.config import PeopleConfig
from mingchu.config import ConfigError, StrictModel, load_config

ENV_PREFIX = "MINGCHU_HUB"


class DatabaseConfig(StrictModel):
    """Where cases, devices and the audit log live."""

    url: str = Field(
        default="sqlite:///mingchu.db", description="SQLAlchemy URL (sqlite:///file or postgresql+psycopg://…)"
    )
    echo: bool = Field(default=False, description="log every SQL statement")
    auto_migrate: bool = Field(default=True, description="run migrations on `serve` start (SQLite only)")


class MqttConfig(StrictModel):
    """Broker connection of the ingest worker."""

    host: str = Field(default="127.0.0.1", description="broker host")
    port: int = Field(default=1883, ge=1, le=65535, description="broker port")
    username: str | None = Field(default=None, description="broker user")
    password: str | None = Field(default=None, description="broker password")
    client_id: str = Field(
        default="mingchu-hub-1",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="stable per worker: the broker keeps its session so unacked messages survive a crash",
    )
    share_group: str | None = Field(default="mingchu-hub", description="MQTT 5 shared-subscription group; null: plain")
    schools: tuple[str, ...] = Field(
        default=(),
        description="subscribe only to these school ids (partition a region between hubs); empty: every school",
    )
    session_expiry_s: int = Field(default=3600, ge=0, description="how long the broker keeps our session offline")
    receive_maximum: int = Field(default=256, ge=1, le=65535, description="max unacked messages in flight to us")
    keepalive_s: int = Field(default=30, ge=5, description="MQTT keepalive")


class LocalStorageConfig(StrictModel):
    """Evidence and photos as files under a directory."""

    type: Literal["local"] = Field(default="local", description="backend: local files")
    root: Path = Field(default=Path("evidence"), description="directory for evidence files (created if missing)")


class S3StorageConfig(StrictModel):
    """Evidence in an S3-compatible bucket (needs boto3: `pip install 'mingchu[s3]'`). Credentials are not set here: boto3 reads `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`), else `~/.aws/credentials` (`profile`), else the instance or container role.

    Keeping secrets out of YAML: the hub config is often checked in or baked into an image.
    """

    type: Literal["s3"] = Field(default="s3", description="backend: S3-compatible bucket")
    bucket: str = Field(min_length=1, description="bucket name (must exist; the hub does not create it)")
    prefix: str = Field(default="", description="key prefix inside the bucket")
    endpoint_url: str | None = Field(
        default=None, description="S3 API URL for MinIO, Ceph RGW and friends (e.g. http://minio:9000); null: AWS"
    )
    region: str | None = Field(default=None, description="bucket region; null: from AWS_DEFAULT_REGION / the profile")
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        default="auto",
        description="`path` (endpoint/bucket/key) for most self-hosted S3 such as MinIO and Ceph; "
        "`virtual` (bucket.endpoint/key); `auto`: boto3 decides",
    )
    profile: str | None = Field(
        default=None, description="named profile in ~/.aws/config and ~/.aws/credentials; null: the default chain"
    )
    connect_timeout_s: float = Field(default=5.0, gt=0, description="TCP connect timeout per request")
    read_timeout_s: float = Field(default=30.0, gt=0, description="socket read timeout per request")
    max_attempts: int = Field(
        default=3, ge=1, description="tries per request, including the first (ingest retries a failed batch itself)"
    )


def _storage_type(value: Any) -> str:
    """``type`` may be omitted (local), so an env override of ``storage.root`` alone still validates."""
    if isinstance(value, dict):
        return str(value.get("type", "local"))
    return str(getattr(value, "type", "local"))


StorageConfig = Annotated[
    Annotated[LocalStorageConfig, Tag("local")] | Annotated[S3StorageConfig, Tag("s3")], Discriminator(_storage_type)
]


class CasesConfig(StrictModel):
    """Deadlines and escalation of cases."""

    deadline_hours: dict[int, float] = Field(
        default_factory=dict,
        description="override of the rectification deadline per severity grade 1–3 (default: taxonomy per class)",
    )
    red_card_after_hours: float = Field(default=24.0, gt=0, description="red card this long after the deadline")
    escalation_interval_s: float = Field(default=60.0, gt=0, description="how often `serve` checks for overdue cases")

    @model_validator(mode="after")
    def _grades(self) -> CasesConfig:
        bad = [g for g in self.deadline_hours if g not in (1, 2, 3)]
        if bad:
            raise ValueError(f"deadline_hours keys must be severity grades 1, 2 or 3 (got {bad})")
        return self


class InterviewConfig(StrictModel):
    """约谈: a school lands on the list when any threshold is reached."""

    open_cases: int = Field(default=10, ge=1, description="open cases at once")
    overdue_cases: int = Field(default=3, ge=1, description="overdue open cases at once")
    repeat_offences: int = Field(default=5, ge=1, description="cases of one class within `repeat_window_days`")
    repeat_window_days: int = Field(default=30, ge=1, description="window for repeat offences")


class IngestConfig(StrictModel):
    """Behaviour of the MQTT ingest worker."""

    enabled: bool = Field(default=True, description="start the worker inside `serve`")
    trust_on_first_use: bool = Field(
        default=False, description="register unknown devices from their first status message (off: admin provisions)"
    )
    retry_initial_s: float = Field(default=0.5, gt=0, description="first back-off after a database error")
    retry_max_s: float = Field(default=30.0, gt=0, description="longest back-off")
    batch_size: int = Field(
        default=256,
        ge=1,
        le=65535,
        description="most event messages handled in one transaction (what is queued is taken at once, so a "
        "lone event is not delayed); beyond `mqtt.receive_maximum` it has no effect, the broker sends no more",
    )


class RectificationConfig(StrictModel):
    """Limits on rectification photos."""

    max_photos: int = Field(default=5, ge=1, le=20, description="photos per submission")
    max_photo_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="size limit per photo")
    max_pixels: int = Field(default=40_000_000, ge=1, description="refuse larger images (decompression bombs)")
    thumbnail_px: int = Field(default=320, ge=32, description="longest side of thumbnails")


class HubConfig(StrictModel):
    """The hub's whole config file (`mingchu-hub serve --config FILE`)."""

    database: DatabaseConfig = Field(default_factory=DatabaseConfig, description="database")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="MQTT broker")
    storage: StorageConfig = Field(default_factory=LocalStorageConfig, description="evidence storage backend")
    cases: CasesConfig = Field(default_factory=CasesConfig, description="case deadlines and escalation")
    interview: InterviewConfig = Field(default_factory=InterviewConfig, description="约谈 thresholds")
    ingest: IngestConfig = Field(default_factory=IngestConfig, description="ingest worker")
    rectification: RectificationConfig = Field(default_factory=RectificationConfig, description="rectification uploads")
    people: PeopleConfig = Field(
        default_factory=PeopleConfig, description="accounts, sessions, push channels, parents and live view"
    )


def load_hub_config(path: str | Path | None, environ: dict[str, str] | None = None) -> HubConfig:
    """Load and validate; raises :class:`ConfigError` with one line naming file and key."""
    return load_config(HubConfig, path, env_prefix=ENV_PREFIX, environ=environ)


__all__ = ["ConfigError", "HubConfig", "load_hub_config"]
