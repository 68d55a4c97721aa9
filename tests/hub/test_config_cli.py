"""Hub config validation and the `mingchu-hub` command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud_api.cli import main
from cloud_api.config import HubConfig, load_hub_config
from mingchu.config import config_reference

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "hub.example.yaml"


def test_defaults_work_without_a_file() -> None:
    config = load_hub_config(None, environ={})
    assert config.database.url == "sqlite:///mingchu.db"
    assert (config.mqtt.host, config.mqtt.port) == ("127.0.0.1", 1883)
    assert config.storage.type == "local" and str(config.storage.root) == "evidence"
    assert config.ingest.trust_on_first_use is False


def test_environment_overrides_nested_keys() -> None:
    env = {"MINGCHU_HUB__MQTT__PORT": "2883", "MINGCHU_HUB__CASES__DEADLINE_HOURS": "{1: 2}"}
    config = load_hub_config(None, environ=env)
    assert config.mqtt.port == 2883 and config.cases.deadline_hours == {1: 2.0}


def test_shipped_example_is_valid_and_reference_documents_every_field() -> None:
    assert load_hub_config(EXAMPLE, environ={}) == HubConfig()  # the example documents the defaults
    reference = config_reference(HubConfig, "Hub configuration")
    assert "`red_card_after_hours`" in reference and "`trust_on_first_use`" in reference
    for line in reference.splitlines():
        if line.startswith("| `"):
            assert not line.endswith("|  |"), f"undocumented field: {line}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mqtt: {port: 99999}\n", "mqtt.port: Input should be less than or equal to 65535"),
        ("databse: {url: x}\n", "databse: unknown key"),
        ("storage: {type: ftp}\n", "storage"),
        ("cases: {deadline_hours: {7: 3}}\n", "cases"),
        ("mqtt: [unclosed\n", "line"),
    ],
)
def test_check_config_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"{path}: ") and expected in err


def test_check_config_ok_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    assert main(["check-config", str(tmp_path / "nope.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_migrate_create_user_and_seed_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MINGCHU_HUB__STORAGE__ROOT", str(tmp_path / "ev"))
    assert main(["migrate"]) == 0
    assert (tmp_path / "mingchu.db").is_file()
    assert main(["seed-demo", "--key-dir", "keys"]) == 0
    assert (tmp_path / "keys" / "edge-a1.pem").is_file()
    assert main(["seed-demo", "--key-dir", "keys"]) == 0  # idempotent
    assert main(["create-user", "ops", "--password", "long-password", "--role", "regulator"]) == 2
    assert "needs district_id" in capsys.readouterr().err
    assert (
        main(
            ["create-user", "ops", "--password", "long-password", "--role", "regulator", "--district", "district-demo"]
        )
        == 0
    )


def test_escalate_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["migrate"]) == 0
    assert main(["escalate"]) == 0
    assert "0 cards given" in capsys.readouterr().out
