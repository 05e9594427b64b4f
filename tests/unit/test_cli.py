from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockstream.cli import app

pytestmark = pytest.mark.unit
runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    commands = ("up", "down", "status", "replay", "stream", "finalize", "wait", "maintain", "sql")
    for command in (*commands, "render", "backfill"):
        assert command in result.output


def test_a_bad_date_gets_a_message_not_a_traceback() -> None:
    result = runner.invoke(app, ["replay", "--sample", "10", "--date", "20-11-2026"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output
    assert "Traceback" not in result.output


def test_a_sample_below_one_is_refused() -> None:
    result = runner.invoke(app, ["replay", "--sample", "0"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_replay_without_a_broker_says_how_to_start_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.conftest import free_port

    monkeypatch.setenv("STOCKSTREAM_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("STOCKSTREAM_KAFKA_PORT", str(free_port()))
    result = runner.invoke(app, ["replay", "--sample", "5"])
    assert result.exit_code == 1
    assert "stockstream up" in result.output
    assert "Traceback" not in result.output


def test_invalid_setting_is_reported_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCKSTREAM_KAFKA_PORT", "not-a-port")
    result = runner.invoke(app, ["down"])
    assert result.exit_code == 1
    assert "STOCKSTREAM_KAFKA_PORT='not-a-port'" in result.output


def test_down_with_nothing_running_is_fine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STOCKSTREAM_DATA_ROOT", str(tmp_path))
    result = runner.invoke(app, ["down"])
    assert result.exit_code == 0
    assert "nothing was running" in result.output


def test_replay_needs_exactly_one_source_of_transactions() -> None:
    nothing = runner.invoke(app, ["replay"])
    assert nothing.exit_code == 2
    assert "--start D --end D" in nothing.output and "--csv FILE" in nothing.output
    both = runner.invoke(app, ["replay", "--sample", "5", "--csv", "x.csv"])
    assert both.exit_code == 2
    assert "--csv and --sample" in both.output


def test_extract_rejects_an_unknown_source() -> None:
    result = runner.invoke(
        app, ["extract", "--start", "2026-11-16", "--end", "2026-11-20", "--source", "bloomberg"]
    )
    assert result.exit_code == 2
    assert "auto" in result.output and "offline" in result.output
    assert "Traceback" not in result.output


def test_sql_refuses_a_write_without_the_write_flag() -> None:
    # Refused before any Spark session starts: the guard reads the statement only.
    result = runner.invoke(app, ["sql", "DROP TABLE gold.stock_daily"])
    assert result.exit_code == 1
    assert "--write" in result.output
    assert "Traceback" not in result.output


def test_finalize_needs_days() -> None:
    nothing = runner.invoke(app, ["finalize"])
    assert nothing.exit_code == 2
    assert "--date D" in nothing.output
    half = runner.invoke(app, ["finalize", "--start", "2026-11-16"])
    assert half.exit_code == 2
    assert "both --start and --end" in half.output
    bad = runner.invoke(app, ["finalize", "--date", "16/11/2026"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_maintain_refuses_a_retention_below_deltas_floor() -> None:
    result = runner.invoke(app, ["maintain", "--retain-hours", "24"])
    assert result.exit_code == 2
    assert "168" in result.output


def test_render_of_a_range_that_ends_before_it_starts_says_to_swap() -> None:
    result = runner.invoke(app, ["render", "--start", "2026-11-20", "--end", "2026-11-19"])
    assert result.exit_code == 2
    assert "swap them" in result.output and "Traceback" not in result.output


def test_render_of_an_empty_lakehouse_says_what_to_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STOCKSTREAM_DATA_ROOT", str(tmp_path))
    result = runner.invoke(app, ["render", "--start", "2026-11-16", "--end", "2026-11-20"])
    assert result.exit_code == 1
    said = " ".join(result.output.split())  # rich wraps lines at the terminal's width
    assert "no rows for 2026-11-16..2026-11-20" in said
    assert "stockstream backfill --start 2026-11-16 --end 2026-11-20" in said
    report = tmp_path / "reports" / "2026-11-16_2026-11-20" / "report.html"
    assert "2026-11-16" in report.read_text()  # the report says the range is empty


def test_backfill_rejects_an_unknown_reprocess_behaviour() -> None:
    result = runner.invoke(
        app, ["backfill", "--start", "2026-11-16", "--end", "2026-11-20", "--reprocess", "always"]
    )
    assert result.exit_code == 2
    assert "none" in result.output and "completed" in result.output and "Traceback" not in result.output


def test_backfill_without_airflow_says_how_to_start_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.conftest import free_port

    monkeypatch.setenv("STOCKSTREAM_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("STOCKSTREAM_AIRFLOW_PORT", str(free_port()))
    result = runner.invoke(app, ["backfill", "--start", "2026-11-16", "--end", "2026-11-20"])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "stockstream up" in said and "Traceback" not in said


def test_simulate_without_live_says_what_to_use() -> None:
    result = runner.invoke(app, ["simulate"])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "--live" in said and "stockstream replay --start D --end D" in said
    assert "Traceback" not in said


def test_simulate_rejects_unknown_tickers_and_lists_the_valid_ones(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STOCKSTREAM_DATA_ROOT", str(tmp_path))
    result = runner.invoke(app, ["simulate", "--live", "--tickers", "AAPL,NOPE"])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "not in the ticker universe" in said and said.count("NOPE") == 1
    assert "AAPL, MSFT, GOOGL" in said and "Traceback" not in said


@pytest.mark.parametrize(("option", "value"), [("--rate", "0"), ("--duration", "-1")])
def test_simulate_rejects_a_non_positive_rate_or_duration(option: str, value: str) -> None:
    result = runner.invoke(app, ["simulate", "--live", option, value])
    assert result.exit_code == 2
    assert f"{option} {float(value)} must be more than 0" in " ".join(result.output.split())


def test_simulate_without_a_broker_says_how_to_start_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.conftest import free_port

    monkeypatch.setenv("STOCKSTREAM_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("STOCKSTREAM_KAFKA_PORT", str(free_port()))
    result = runner.invoke(app, ["simulate", "--live", "--always-open", "--duration", "1"])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "no Kafka broker answers" in said and "stockstream up" in said and "Traceback" not in said
