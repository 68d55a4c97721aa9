"""The shared YAML loader: good files load, bad ones fail with one line naming the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from mingchu.config import ConfigError, StrictModel, apply_env_overrides, config_reference, load_config
from mingchu.taxonomy import load_taxonomy


class BrokerConfig(StrictModel):
    """Where the broker is."""

    host: str = Field(default="127.0.0.1", description="broker host")
    port: int = Field(default=1883, ge=1, le=65535, description="broker port")


class CameraConfig(StrictModel):
    id: str
    detect_fps: float = 5.0


class ToyConfig(StrictModel):
    """A config like the real ones, small."""

    mqtt: BrokerConfig = BrokerConfig()
    cameras: tuple[CameraConfig, ...] = ()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_and_defaults(tmp_path: Path) -> None:
    cfg = load_config(ToyConfig, write(tmp_path, "mqtt: {port: 8883}\ncameras: [{id: cam1}]\n"))
    assert cfg.mqtt.port == 8883 and cfg.mqtt.host == "127.0.0.1"
    assert cfg.cameras[0].detect_fps == 5.0
    assert load_config(ToyConfig, None) == ToyConfig()


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("mqtt: {hots: x}\n", "mqtt.hots", "unknown key"),
        ("mqtt: {port: many}\n", "mqtt.port", "many"),
        ("mqtt: {port: 70000}\n", "mqtt.port", "65535"),
        ("cameras: [{id: a}, {detect_fps: 2}]\n", "cameras[1].id", "required"),
        ("cameras: [{id: a, fps: 2}]\n", "cameras[0].fps", "unknown key"),
        ("mqtt: [1, 2\n", "line", "not valid YAML"),
        ("- just\n- a list\n", "", "mapping"),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(ToyConfig, path)
    line = str(err.value)
    assert line.startswith(str(path))
    assert key in line and words in line
    assert "\n" not in line


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(ToyConfig, tmp_path / "nope.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ConfigError, match=str(binary)):
        load_config(ToyConfig, binary)


def test_environment_overrides_nested_keys(tmp_path: Path) -> None:
    env = {"MC__MQTT__HOST": "broker.local", "MC__MQTT__PORT": "8883", "OTHER": "x"}
    cfg = load_config(ToyConfig, write(tmp_path, "mqtt: {host: a}\n"), env_prefix="MC", environ=env)
    assert (cfg.mqtt.host, cfg.mqtt.port) == ("broker.local", 8883)
    with pytest.raises(ConfigError, match=r"mqtt\.prot: unknown key"):
        load_config(ToyConfig, None, env_prefix="MC", environ={"MC__MQTT__PROT": "1"})
    assert apply_env_overrides({"a": 1}, {}, "MC") == {"a": 1}


def test_reference_lists_every_key_with_its_description() -> None:
    text = config_reference(ToyConfig, "Toy")
    for key in ("`mqtt`", "`host`", "`port`", "`cameras`", "`detect_fps`", "broker host"):
        assert key in text


def test_shipped_taxonomy_and_a_broken_one(tmp_path: Path) -> None:
    assert len(load_taxonomy().classes) == 11
    broken = tmp_path / "violations.yaml"
    broken.write_text(
        "categories: {}\nclasses:\n  - {id: x, name_zh: 甲, name_en: X, category: pests, severity: 5,"
        " deadline_hours: 1, rule: presence}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"classes\[0\]\.severity"):
        load_taxonomy(broken)
