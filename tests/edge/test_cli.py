"""``mingchu-edge`` as users run it: a real subprocess, real files, the shipped model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.cli import main

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "tests" / "assets"
GOOD = """
device: {school_id: s1, device_id: d1, canteen_id: c1, key_file: KEY}
cameras:
  - {id: cam1, room_id: r1, room_type: prep, url: x.mp4}
"""


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge_agent.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_check_config_good(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(GOOD.replace("KEY", str(tmp_path / "k.pem")))
    result = cli("check-config", str(path))
    assert result.returncode == 0, result.stderr
    assert "OK (1 camera(s)" in result.stdout
    assert cli("check-config", str(ROOT / "configs" / "edge.example.yaml")).returncode == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD + "mqtt: {prot: 1}\n", "mqtt.prot: unknown key"),
        (GOOD + "mqtt: {port: high}\n", "mqtt.port: Input should be a valid integer"),
        (GOOD.replace("room_type: prep", "room_type: 7"), "cameras[0].room_type:"),
        ("device: [1, 2]\n", "device:"),
        ("device: {school_id: s1\n", "not valid YAML"),
    ],
)
def test_check_config_bad_is_one_line_exit_2(
    tmp_path: Path, text: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(text.replace("KEY", "k.pem"))
    assert main(["check-config", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}: ") and expected in lines[0], lines


def test_check_config_missing_file(tmp_path: Path) -> None:
    result = cli("check-config", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"{tmp_path / 'nope.yaml'}: file not found"


def test_keygen_then_show_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "dev.pem"
    assert main(["show-key", "--key-file", str(key)]) == 2  # nothing yet
    capsys.readouterr()
    assert main(["keygen", "--key-file", str(key)]) == 0 and key.is_file()
    made = capsys.readouterr().out
    assert main(["show-key", "--key-file", str(key)]) == 0
    shown = capsys.readouterr().out
    assert shown.splitlines()[0] == made.splitlines()[0]
    assert len(shown.splitlines()[0].split(": ")[1]) == 44  # base64 of 32 bytes
    key.write_text("junk")
    assert main(["show-key", "--key-file", str(key)]) == 2
    assert "dev.pem" in capsys.readouterr().err
    config = tmp_path / "edge.yaml"
    config.write_text(GOOD.replace("KEY", str(tmp_path / "via-config.pem")))
    assert main(["keygen", "--config", str(config)]) == 0 and (tmp_path / "via-config.pem").is_file()


@pytest.mark.slow
def test_detect_image_prints_json_lines_and_writes_picture(tmp_path: Path) -> None:
    result = cli("detect", str(ASSETS / "person.jpg"), "--json", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 1
    labels = {d["label"] for d in records[0]["detections"]}
    assert {"person", "dog"} <= labels  # the picture shows a hiker and her dog
    person = next(d for d in records[0]["detections"] if d["label"] == "person")
    x1, y1, x2, y2 = person["box"]
    assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 424 and 0 < person["score"] <= 1
    assert "pest_intrusion" in {v["class"] for v in records[0]["violations"]}  # a dog in a prep room
    assert (tmp_path / "person_annotated.png").stat().st_size > 10_000


@pytest.mark.slow
def test_detect_video_tracks_people(tmp_path: Path) -> None:
    result = cli("detect", str(ASSETS / "vtest_10s.mp4"), "--json", "--fps", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert 18 <= len(records) <= 21  # 10 s at 2 fps
    people = [d for r in records for d in r["detections"] if d["label"] == "person"]
    assert len(people) > 40
    ids = {d["track_id"] for d in people}
    assert 3 <= len(ids) < len(people) / 2  # the same pedestrians keep their ids
    assert (tmp_path / "vtest_10s_annotated.mp4").stat().st_size > 10_000


@pytest.mark.parametrize("content", [b"", b"\x89PNG not really", bytes(range(7, 256, 3)) * 30])
def test_detect_bad_input_exit_2(tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("broken.jpg", "broken.mp4"):
        bad = tmp_path / name
        bad.write_bytes(content)
        assert main(["detect", str(bad), "--json"]) == 2
        out = capsys.readouterr()
        assert name in out.err and out.out == ""
    assert main(["detect", str(tmp_path / "missing.mp4")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_unknown_model_name_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", str(ASSETS / "person.jpg"), "--model", "no-such-model"]) == 2
    assert "no-such-model" in capsys.readouterr().err


def _run_config(tmp_path: Path, **model: object) -> Path:
    import uuid

    import yaml

    cfg = yaml.safe_load((ROOT / "configs" / "edge.example.yaml").read_text(encoding="utf-8"))
    cfg["device"]["device_id"] = f"cli-{uuid.uuid4().hex[:8]}"
    cfg["device"]["key_file"] = str(tmp_path / "key.pem")
    cfg["outbox"]["path"] = str(tmp_path / "outbox.sqlite3")
    cfg["metrics"]["enabled"] = False
    cfg["cameras"][0]["url"] = str(ASSETS / "vtest_10s.mp4")
    cfg["model"].update(model)
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def test_run_with_missing_model_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _run_config(tmp_path, name=None, path=str(tmp_path / "nope.onnx"))
    assert main(["run", "--config", str(config)]) == 2
    assert "nope.onnx" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.mqtt
def test_run_until_sigterm_publishes_online_then_offline(tmp_path: Path) -> None:
    import signal
    import time

    import yaml

    from mingchu.contract import decode
    from tests.edge.conftest import broker_reachable, subscribe

    if not broker_reachable():
        pytest.skip("no MQTT broker on 127.0.0.1:1883")
    config = _run_config(tmp_path)
    device = yaml.safe_load(config.read_text(encoding="utf-8"))["device"]["device_id"]
    col = subscribe(f"mingchu/v1/demo-school/{device}/status")
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", "run", "--config", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        states = lambda: [decode(p).message.state for _t, p, _r in col.snapshot()]  # noqa: E731
        assert col.wait_for(lambda _m: "online" in states(), 30), "agent never came online"
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert col.wait_for(lambda _m: states()[-1:] == ["offline"], 10)  # a clean stop says offline itself
        assert "edge agent started: 1 camera(s)" in out and "edge agent stopped" in out
        assert (tmp_path / "key.pem").is_file() and (tmp_path / "outbox.sqlite3").is_file()
    finally:
        if proc.poll() is None:
            proc.kill()
        col.client.disconnect()
        col.client.loop_stop()
