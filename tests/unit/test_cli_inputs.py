"""Every bad argument, setting and CSV gets a message that says what was wrong and what to do, and
a non-zero exit: 2 for a wrong argument (a usage error), 1 for anything else; never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from stockstream.cli import app
from stockstream.market import seed_csv
from stockstream.services.listeners import Listener
from tests.conftest import free_port

pytestmark = pytest.mark.unit
runner = CliRunner()
HEADER = "ticker,timestamp,price,volume,action"
TODAY = datetime.now(UTC).date()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty data root, no broker and no Airflow at the configured ports, no .env."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STOCKSTREAM_DATA_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("STOCKSTREAM_KAFKA_PORT", str(free_port()))
    monkeypatch.setenv("STOCKSTREAM_AIRFLOW_PORT", str(free_port()))


def run(args: list[str]) -> tuple[Result, str]:
    """The command's result and its output as one line (rich wraps lines and draws boxes)."""
    result = runner.invoke(app, args)
    # An exception that is not an exit would be a traceback in a terminal.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result, " ".join(result.output.replace("│", " ").split())


def csv_file(tmp_path: Path, content: bytes | str, name: str = "trades.csv") -> str:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return str(path)


# --- dates and ranges --------------------------------------------------------------------------

RANGE_COMMANDS = [["extract"], ["replay"], ["finalize"], ["render"], ["backfill"]]


@pytest.mark.parametrize("command", RANGE_COMMANDS)
@pytest.mark.parametrize(
    ("start", "end", "said"),
    [
        ("2026-13-01", "2026-11-20", "--start '2026-13-01' is not a date: use YYYY-MM-DD"),
        ("2026-11-16", "20/11/2026", "--end '20/11/2026' is not a date: use YYYY-MM-DD"),
        ("2026-11-20", "2026-11-16", "--end 2026-11-16 is before --start 2026-11-20: swap them"),
        (
            "1026-11-16",
            "2026-11-20",
            "1026-11-16..2026-11-20 spans 365,248 days, more than the 3,660 (ten years) a command takes: "
            "check the years, or split the range",
        ),
    ],
)
def test_a_bad_range_is_a_usage_error_that_says_what_to_fix(
    command: list[str], start: str, end: str, said: str
) -> None:
    result, output = run([*command, "--start", start, "--end", end])
    assert result.exit_code == 2
    assert said in output


def test_extract_refuses_days_that_have_not_happened() -> None:
    later = TODAY + timedelta(days=30)
    result, output = run(["extract", "--start", str(TODAY), "--end", str(later), "--source", "offline"])
    assert result.exit_code == 2
    assert f"--end {later} is in the future: market data exists up to today" in output


def test_finalize_of_a_weekend_says_there_is_no_trading_day() -> None:
    result, output = run(["finalize", "--start", "2026-11-21", "--end", "2026-11-22"])
    assert result.exit_code == 2
    assert "2026-11-21..2026-11-22 has no weekday, so no trading day to finalise" in output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["replay", "--sample", "3", "--date", "yesterday"], "--date 'yesterday' is not a date"),
        (["wait", "--date", "2026-02-30"], "--date '2026-02-30' is not a date"),
        (["finalize", "--date", "11/20/2026"], "--date '11/20/2026' is not a date"),
    ],
)
def test_a_bad_single_date_names_its_option(args: list[str], said: str) -> None:
    result, output = run(args)
    assert result.exit_code == 2
    assert said in output


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["replay", "--sample", "3", "--speed", "-1"], "--speed"),
        (["replay", "--sample", "3", "--speed", "inf"], "inf is not a finite number"),
        (["replay", "--sample", "3", "--speed", "nan"], "--speed"),
        (["replay", "--sample", "0"], "--sample"),
        (["replay", "--sample", "5000000"], "less than or equal to 1000000"),
        (["simulate", "--live", "--rate", "-5"], "--rate -5.0 must be more than 0"),
        (["simulate", "--live", "--rate", "100000"], "--rate"),
        (["simulate", "--live", "--seed", "-1"], "--seed"),
        (["simulate", "--live", "--duration", "0"], "--duration 0.0 must be more than 0"),
        (["wait", "--timeout", "0"], "--timeout"),
        (["wait", "--timeout", "inf"], "inf is not a finite number"),
        (["backfill", "--start", "2026-11-16", "--end", "2026-11-20", "--timeout", "-inf"], "--timeout"),
        (["maintain", "--retain-hours", "24"], "168"),
        (["maintain", "--retain-hours", "99999999"], "876000"),
        (["sql", "SELECT 1", "--limit", "0"], "--limit"),
        (["sql", "SELECT 1", "--format", "xml"], "table"),
    ],
)
def test_a_number_out_of_range_is_a_usage_error(args: list[str], said: str) -> None:
    result, output = run(args)
    assert result.exit_code == 2
    assert said in output


def test_an_unknown_ticker_lists_the_universe() -> None:
    result, output = run(["simulate", "--live", "--always-open", "--tickers", "AAPL,ZZZZ"])
    assert result.exit_code == 1
    assert "error:" in output and "ZZZZ" in output and "not in the ticker universe" in output


# --- settings -----------------------------------------------------------------------------------


def test_bad_settings_are_named_with_their_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCKSTREAM_KAFKA_PORT", "abc")
    monkeypatch.setenv("STOCKSTREAM_TOPIC_PARTITIONS", "0")
    result, output = run(["down"])
    assert result.exit_code == 1
    assert (
        "error: invalid setting: STOCKSTREAM_KAFKA_PORT='abc': Input should be a valid integer, unable to "
        "parse string as an integer; STOCKSTREAM_TOPIC_PARTITIONS='0': Input should be greater than or "
        "equal to 1 what to do: fix the STOCKSTREAM_* variable or .env entry named above"
    ) in output
    assert "errors.pydantic.dev" not in output


def test_incomplete_kafka_security_is_refused_without_printing_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOCKSTREAM_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("STOCKSTREAM_KAFKA_SASL_USERNAME", "stockstream")
    monkeypatch.setenv("STOCKSTREAM_KAFKA_SASL_PASSWORD", "do-not-print-me")  # pragma: allowlist secret
    result, output = run(["status"])
    assert result.exit_code == 1
    assert "kafka_security_protocol SASL_SSL needs kafka_bootstrap (an external cluster)" in output
    assert "do-not-print-me" not in output


def test_an_env_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"STOCKSTREAM_TOPIC=caf\xe9\n")
    result, output = run(["down"])
    assert result.exit_code == 1
    assert f"error: {tmp_path / '.env'} is not UTF-8 text" in output


# --- the seed CSV ------------------------------------------------------------------------------

GOOD_ROW = "AAPL,2026-11-20 14:30:00,228.5,10,BUY"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "trades.csv is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "line 1: byte 0x89 is not UTF-8 text; is this a CSV file?"),
        (
            f"{HEADER}\n{GOOD_ROW}\nNESN.SW,2026-11-20 09:00:00,1\xe9,1,BUY\n".encode("latin-1"),
            "line 3: byte 0xe9 is not UTF-8 text",
        ),
        (
            f"{HEADER}\nAA\x00PL,2026-11-20 14:30:00,228,10,BUY\n".encode(),
            "line 2: ticker 'AA\\x00PL' is not",
        ),
        (f'{HEADER}\nAAPL,"2026-11-20 14:30:00\n'.encode(), "line 2: expected 5 fields"),
        (f"{HEADER}\n".encode(), "holds the header but no transaction"),
        (
            b"symbol,time,price,qty,side\nAAPL,2026-11-20 14:30:00,228,10,BUY\n",
            "line 1: the header is symbol",
        ),
        (f"{HEADER}\nAAPL,2026-11-20 14:30:00,abc,10,BUY\n".encode(), "line 2: price 'abc' is not a number"),
        (
            f"{HEADER}\nAAPL,2026-11-20 14:30:00,nan,10,BUY\n".encode(),
            "price 'nan' must be a positive number",
        ),
        (f"{HEADER}\nAAPL,2026-11-20 14:30:00,1e400,10,BUY\n".encode(), "must be a positive number"),
        (f"{HEADER}\nAAPL,2026-11-20 14:30:00,228,1e30,BUY\n".encode(), "below 2^63"),
        (f"{HEADER}\nAAPL,2026-11-20 14:30:00,228,-5,BUY\n".encode(), "volume '-5' must be a positive"),
        (f"{HEADER}\nAAPL,0001-01-01T00:00:00+05:00,228,10,BUY\n".encode(), "is not ISO-8601"),
        (f'{HEADER}\nAAPL,"{"x" * 200_000}",228,10,BUY\n'.encode(), "field larger than field limit"),
    ],
    ids=[
        "empty",
        "binary",
        "latin-1",
        "nul-byte",
        "unterminated-quote",
        "header-only",
        "wrong-header",
        "price-text",
        "price-nan",
        "price-inf",
        "volume-huge",
        "volume-negative",
        "timestamp-overflow",
        "huge-field",
    ],
)
def test_a_bad_csv_is_refused_before_anything_is_sent(tmp_path: Path, content: bytes, said: str) -> None:
    result, output = run(["replay", "--csv", csv_file(tmp_path, content)])
    assert result.exit_code == 1
    assert output.startswith("error:") and said in output
    assert "what to do:" in output
    assert "no Kafka broker" not in output, "the file is checked before the broker"


@pytest.mark.parametrize(
    ("path", "said"),
    [("missing.csv", "No such file or directory"), (".", "Is a directory")],
)
def test_a_csv_path_that_cannot_be_read(tmp_path: Path, path: str, said: str) -> None:
    result, output = run(["replay", "--csv", str(tmp_path / path)])
    assert result.exit_code == 1
    assert f"cannot read {tmp_path / path}: {said}" in output


def test_a_csv_too_large_to_sort_in_memory_says_to_split_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seed_csv, "MAX_BYTES", 1024)
    path = csv_file(tmp_path, "\n".join([HEADER] + [GOOD_ROW] * 40) + "\n")
    result, output = run(["replay", "--csv", path])
    assert result.exit_code == 1
    assert "reads its file whole to sort it by time" in output and "split the file" in output


def test_a_folder_of_zones_is_no_timezone(tmp_path: Path) -> None:
    result, output = run(
        ["replay", "--csv", csv_file(tmp_path, f"{HEADER}\n{GOOD_ROW}\n"), "--csv-tz", "America"]
    )
    assert result.exit_code == 1
    assert "--csv-tz 'America' is not a timezone" in output


def test_a_valid_csv_with_a_byte_order_mark_and_unknown_tickers_reaches_the_broker_check(
    tmp_path: Path,
) -> None:
    content = "\ufeff" + "\n".join([HEADER, GOOD_ROW, "ZZZZ,2026-11-20 14:31:00,1,1,SELL"]) + "\n"
    result, output = run(["replay", "--csv", csv_file(tmp_path, content)])
    # Read and checked: the only thing missing is a broker.
    assert (
        "warning: ZZZZ is not in the ticker universe: silver quarantines their rows as unknown_ticker"
        in output
    )
    assert result.exit_code == 1 and "no Kafka broker answers" in output


# --- output folders and SQL ---------------------------------------------------------------------


def test_render_into_a_file_says_it_is_not_a_folder(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("")
    result, output = run(["render", "--start", "2026-11-16", "--end", "2026-11-20", "--out", str(target)])
    assert result.exit_code == 1
    assert f"error: --out {target} is a file, not a folder" in output


@pytest.mark.parametrize(
    ("queries", "shown"),
    [
        (["SELECT 1", "DROP TABLE gold.alerts"], '"DROP TABLE gold.alerts"'),
        (
            ["WITH x AS (SELECT r'\\') INSERT INTO gold.alerts SELECT 1 --'"],
            "\"WITH x AS (SELECT r'\\') INSERT INTO gold.alerts SELECT 1 --'\"",
        ),
        (["SELECT 1; DELETE FROM silver.transactions"], '"SELECT 1; DELETE FROM silver.transactions"'),
        (["CREATE TABLE t AS SELECT 1"], '"CREATE TABLE t AS SELECT 1"'),
        (["SET spark.sql.ansi.enabled = false"], '"SET spark.sql.ansi.enabled = false"'),
    ],
)
def test_sql_names_the_statement_it_refuses_and_says_to_pass_write(queries: list[str], shown: str) -> None:
    result, output = run(["sql", *queries])
    assert result.exit_code == 1
    assert f"error: `stockstream sql` is read-only unless --write, and {shown}" in output
    assert "what to do: pass --write to run it" in output


def test_sql_refuses_an_empty_query() -> None:
    result, output = run(["sql", "SELECT 1", "  "])
    assert result.exit_code == 2
    assert "a query is empty" in output


# --- status -------------------------------------------------------------------------------------


def test_status_warns_about_a_service_listening_beyond_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockstream.services import listeners

    wide = [Listener(4242, "java", "127.0.0.1", 9092), Listener(4243, "airflow", "0.0.0.0", 8793)]
    monkeypatch.setattr(listeners, "instance_listeners", lambda run_dir: wide)
    result, output = run(["status"])
    assert result.exit_code == 3  # nothing runs
    assert (
        "warning: listening beyond 127.0.0.1 (STOCKSTREAM_HOST): airflow (pid 4243) on 0.0.0.0:8793; "
        "other machines may reach it"
    ) in output
    assert "9092" not in output.split("warning:")[1]


def test_status_says_nothing_when_everything_is_local(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockstream.services import listeners

    monkeypatch.setattr(
        listeners, "instance_listeners", lambda run_dir: [Listener(1, "java", "127.0.0.1", 1)]
    )
    _, output = run(["status"])
    assert "warning: listening beyond" not in output


# --- in a real process ---------------------------------------------------------------------------


def test_a_real_process_prints_two_lines_and_no_traceback(tmp_path: Path) -> None:
    path = csv_file(tmp_path, b"\xff\xfe" + "ticker".encode("utf-16-le"))
    done = subprocess.run(
        [sys.executable, "-m", "stockstream.cli", "replay", "--csv", path],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: {path}, line 1: byte 0xff is not UTF-8 text; is this a CSV file?",
        "what to do: give a text CSV in the seed's format, saved as UTF-8",
    ]


def test_an_unknown_benchmark_is_named_with_the_choices() -> None:
    result, output = run(["bench", "replay", "strem"])
    assert result.exit_code == 2
    assert "unknown benchmark strem: choose from replay, stream, day" in output
