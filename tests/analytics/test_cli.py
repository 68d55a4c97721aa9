"""Command-line entry points: the rollup refresher, the sample report and the bench scripts refuse bad input."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import func, select

from cloud_api.analytics import rollup
from cloud_api.db import Database

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rollup_cli_rebuild_then_refresh(seeded: Database, capsys: pytest.CaptureFixture[str]) -> None:
    if not seeded.url.startswith("sqlite"):
        pytest.skip("the CLI is database-agnostic; once is enough")
    assert rollup.main([seeded.url, "--rebuild"]) == 0
    assert "rebuilt" in capsys.readouterr().out
    with seeded.session() as s:
        assert s.execute(select(func.count()).select_from(rollup.SchoolDayRollup)).scalar_one() > 0
        assert s.execute(select(func.count()).select_from(rollup.SchoolMonthRollup)).scalar_one() > 0
    assert rollup.main([seeded.url]) == 0
    assert "refreshed" in capsys.readouterr().out


def test_rollup_cli_bad_input() -> None:
    with pytest.raises(SystemExit):
        rollup.main([])
    with pytest.raises(Exception, match=r"(?i)could not parse|argument"):
        rollup.main(["not a url"])


@pytest.mark.parametrize("argv", [["--cases", "0"], ["--schools", "-1"], ["--seed", "3"], ["--cases", "many"]])
def test_seed_cases_refuses_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _load("seed_cases").main(argv)
    assert exc.value.code == 2


@pytest.mark.parametrize("argv", [["--runs", "0"], ["--warmup", "-1"], ["--runs", "x"]])
def test_bench_refuses_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _load("bench_analytics").main(argv)
    assert exc.value.code == 2


def test_seed_cases_refuses_bad_database_name() -> None:
    with pytest.raises(SystemExit, match="bad database name"):
        _load("seed_cases").recreate_database("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", "x; drop")
