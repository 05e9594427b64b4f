"""The dashboard's data access on a hand-built lakehouse (exact values, partition pruning, caching by
table version) and every endpoint of its web layer, with data, on an empty lakehouse and with bad
parameters. The lakehouse and its expected values: tests/dashboard_lake.py."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from stockstream import lake
from stockstream.analyses.load import GOLD_TABLES
from stockstream.analyses.report import CHART_FILES
from stockstream.config import Settings
from stockstream.dashboard import create_app
from stockstream.dashboard import data as dashboard_data
from stockstream.dashboard.app import NO_GOLD
from stockstream.dashboard.data import DashboardData, DeltaLog, Price
from stockstream.errors import StockstreamError
from stockstream.market.reference import load_universe
from stockstream.services.dashboard import DashboardService
from stockstream.tables import ALERTS, MINUTE_BARS, STOCK_DAILY, table
from tests.conftest import isolated_settings
from tests.dashboard_lake import (
    ALERTS_NEWEST_FIRST,
    D0,
    D1,
    D2,
    append_bar,
    append_trade,
    build_lakehouse,
    daily_rows,
    write_records,
)
from tests.unit.test_analyses import write_table

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = [
    pytest.mark.unit,
    # seaborn 0.13's heatmap calls Colormap.set_bad, which matplotlib 3.11 marks for deprecation.
    pytest.mark.filterwarnings("ignore:The set_bad function:PendingDeprecationWarning"),
    # Starlette's TestClient asks for httpx2 and works with the pinned httpx.
    pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`"),
]


@pytest.fixture
def lake_settings(tmp_path: Path) -> Settings:
    """An instance of its own (free ports: nothing answers on the Kafka port) holding the fixture."""
    settings = isolated_settings(tmp_path / "root")
    build_lakehouse(settings)
    return settings


@pytest.fixture
def empty_settings(tmp_path: Path) -> Settings:
    return isolated_settings(tmp_path / "empty")


class Reads:
    """Every lake.read the dashboard's data module makes: (table, where)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[str, str, Any]]]] = []

    def tables(self) -> list[str]:
        return [name for name, _ in self.calls]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    seen = Reads()
    real = lake.read

    def spy(settings: Settings, name: str, columns: Any = None, where: Any = ()) -> Any:
        seen.calls.append((name, list(where)))
        return real(settings, name, columns=columns, where=where)

    monkeypatch.setattr(dashboard_data.lake, "read", spy)
    return seen


def partitions(files: list[str]) -> set[str]:
    return {path.split("/", 1)[0] for path in files}


# ---------------------------------------------------------------------------------------------
# data access


def test_latest_trade_dates_come_from_the_delta_log_alone(lake_settings: Settings) -> None:
    folder = table(MINUTE_BARS).path(lake_settings)
    # Without a single data file left, only the log can answer.
    for parquet in folder.rglob("*.parquet"):
        parquet.unlink()
    state = DeltaLog(lake_settings).state(MINUTE_BARS)
    assert state.trade_dates == (D2, D1)
    assert state.latest == D2
    assert state.version == 3  # four appends: versions 0..3


def test_a_missing_table_has_no_version_and_no_dates(empty_settings: Settings) -> None:
    state = DeltaLog(empty_settings).state(MINUTE_BARS)
    assert (state.version, state.trade_dates, state.latest) == (None, (), None)


def test_the_log_follows_new_commits(lake_settings: Settings) -> None:
    log = DeltaLog(lake_settings)
    assert log.state(ALERTS).trade_dates == (D2, D1, D0)
    later = date(2026, 10, 7)
    write_records(
        lake_settings,
        ALERTS,
        [
            {
                "alert_id": "a6",
                "ticker": "MSFT",
                "pattern": "up_run",
                "detected_at": datetime(2026, 10, 7, 14, 0, 5, tzinfo=UTC),
                "event_time": datetime(2026, 10, 7, 14, 0, tzinfo=UTC),
                "trade_date": later,
                "evidence": "{}",
                "baseline_volume": None,
                "observed_volume": None,
                "run_length": 7,
            }
        ],
    )
    state = log.state(ALERTS)
    assert state.version == 1
    assert state.trade_dates == (later, D2, D1, D0)


def test_live_price_is_the_latest_days_row_of_stock_daily(lake_settings: Settings) -> None:
    price = DashboardData(lake_settings).price("AAPL")
    # gold.stock_daily's AAPL row of D2, not its minute bars (whose last close is 100.5).
    assert price == Price(
        ticker="AAPL",
        trade_date=D2,
        price=99.5,
        as_of=datetime(2026, 10, 6, 22, 0, tzinfo=UTC),
        open=100.0,
        high=100.75,
        low=99.25,
        change_pct=-0.5,
        volume=1200,
        trades=20,
    )
    assert price is not None and price.as_of.utcoffset() == timedelta(0)


def test_a_ticker_without_a_row_today_shows_its_latest_day(lake_settings: Settings) -> None:
    data = DashboardData(lake_settings)
    sap = data.price("SAP")  # no row on D2
    assert sap is not None
    assert (sap.trade_date, sap.price, sap.change_pct, sap.volume, sap.trades) == (D1, 100.5, 0.5, 100, 1)
    assert data.price("GOOGL") is None  # in the universe, no row at all


def test_price_and_bars_come_from_different_tables(lake_settings: Settings) -> None:
    data = DashboardData(lake_settings)
    sony = data.price("6758.T")  # a stock_daily row on D2, no minute bars at all
    assert sony is not None and (sony.trade_date, sony.price, sony.change_pct) == (D2, 98.0, -2.0)
    assert data.day_bars("6758.T").trade_date is None
    bars = data.day_bars("AAPL")
    assert bars.trade_date == D2
    assert bars.frame["close"].tolist() == [101.0, 102.0, 100.5]
    assert bars.frame["window_start"].tolist() == [
        datetime(2026, 10, 6, 14, minute, tzinfo=UTC) for minute in (30, 31, 32)
    ]
    sap = data.day_bars("SAP")  # no bars on D2
    assert (sap.trade_date, sap.frame["close"].tolist()) == (D1, [240.0, 241.0])


def test_a_trade_replaces_the_tickers_row_and_a_first_trade_adds_one(lake_settings: Settings) -> None:
    data = DashboardData(lake_settings)
    append_trade(
        lake_settings, D2, "MSFT", 103.25, shares=25, updated_at=datetime(2026, 10, 6, 22, 30, tzinfo=UTC)
    )
    assert data.log.state(STOCK_DAILY).version == 1
    assert data.price("MSFT") == Price(
        ticker="MSFT",
        trade_date=D2,
        price=103.25,
        as_of=datetime(2026, 10, 6, 22, 30, tzinfo=UTC),
        open=100.0,
        high=103.25,  # was 102.25
        low=99.75,
        change_pct=3.25,  # (103.25 - 100) / 100 * 100
        volume=725,
        trades=11,
    )
    rows = lake.read(lake_settings, STOCK_DAILY, where=[("trade_date", "=", D2)])
    assert sorted(rows["ticker"]) == ["6758.T", "7203.T", "AAPL", "MSFT"]  # replaced, not added

    append_trade(
        lake_settings, D2, "GOOGL", 180.5, shares=5, updated_at=datetime(2026, 10, 6, 22, 31, tzinfo=UTC)
    )
    assert data.log.state(STOCK_DAILY).version == 2
    googl = data.price("GOOGL")
    assert googl is not None
    assert (googl.price, googl.open, googl.high, googl.low) == (180.5, 180.5, 180.5, 180.5)
    assert (googl.change_pct, googl.volume, googl.trades) == (0.0, 5, 1)


def test_a_price_read_opens_the_tickers_latest_file_only(lake_settings: Settings, reads: Reads) -> None:
    DashboardData(lake_settings).price("AAPL")
    assert reads.calls == [(STOCK_DAILY, [("trade_date", "=", D2), ("ticker", "=", "AAPL")])]
    name, where = reads.calls[0]
    everything = lake.scan_files(lake_settings, name)
    assert len(everything) == 2  # one commit partitioned by trade_date: one file per day
    assert partitions(everything) == {"trade_date=2026-10-05", "trade_date=2026-10-06"}
    planned = lake.scan_files(lake_settings, name, where)
    assert len(planned) == 1 and partitions(planned) == {"trade_date=2026-10-06"}


def test_a_bars_read_for_one_ticker_and_day_opens_that_days_file_only(
    lake_settings: Settings, reads: Reads
) -> None:
    DashboardData(lake_settings).day_bars("AAPL")
    assert reads.calls == [(MINUTE_BARS, [("trade_date", "=", D2), ("ticker", "=", "AAPL")])]
    name, where = reads.calls[0]
    planned = lake.scan_files(lake_settings, name, where)
    everything = lake.scan_files(lake_settings, name)
    assert len(everything) == 4  # one file per (day, ticker) commit
    assert partitions(everything) == {"trade_date=2026-10-05", "trade_date=2026-10-06"}
    # The partition leaves D2's two files, their statistics leave AAPL's one.
    assert len(planned) == 1 and partitions(planned) == {"trade_date=2026-10-06"}
    assert len(lake.scan_files(lake_settings, name, where[:1])) == 2


def test_every_read_names_its_trade_date_partitions(lake_settings: Settings, reads: Reads) -> None:
    data = DashboardData(lake_settings)
    data.price("SAP")  # D2 first (no SAP there), then D1
    data.day_bars("SAP")  # the same for its bars
    data.alerts()
    data.movers()
    assert reads.calls == [
        (STOCK_DAILY, [("trade_date", "=", D2), ("ticker", "=", "SAP")]),
        (STOCK_DAILY, [("trade_date", "=", D1), ("ticker", "=", "SAP")]),
        (MINUTE_BARS, [("trade_date", "=", D2), ("ticker", "=", "SAP")]),
        (MINUTE_BARS, [("trade_date", "=", D1), ("ticker", "=", "SAP")]),
        (ALERTS, [("trade_date", "in", (D2, D1))]),
        (STOCK_DAILY, [("trade_date", "=", D2)]),
    ]
    assert partitions(lake.scan_files(lake_settings, ALERTS, reads.calls[4][1])) == {
        "trade_date=2026-10-05",
        "trade_date=2026-10-06",
    }
    assert partitions(lake.scan_files(lake_settings, STOCK_DAILY, reads.calls[5][1])) == {
        "trade_date=2026-10-06"
    }


def test_an_unchanged_table_is_not_read_again(lake_settings: Settings, reads: Reads) -> None:
    data = DashboardData(lake_settings)
    for _ in range(3):
        assert data.price("AAPL") is not None
        data.day_bars("AAPL")
        data.alerts()
        data.movers()
    assert reads.tables() == [STOCK_DAILY, MINUTE_BARS, ALERTS, STOCK_DAILY]

    # A new minute bar: the bars are read again, the price (gold.stock_daily) is not.
    append_bar(lake_settings, D2, "AAPL", (14, 33, 100.5, 103.0, 100.4, 102.75, 40, 2))
    assert data.day_bars("AAPL").frame["close"].tolist() == [101.0, 102.0, 100.5, 102.75]
    price = data.price("AAPL")
    assert price is not None and price.price == 99.5
    assert reads.tables() == [STOCK_DAILY, MINUTE_BARS, ALERTS, STOCK_DAILY, MINUTE_BARS]

    # A trade: gold.stock_daily has a new version, so the price (and the movers) are read again.
    append_trade(
        lake_settings, D2, "AAPL", 101.0, shares=30, updated_at=datetime(2026, 10, 6, 22, 5, tzinfo=UTC)
    )
    price = data.price("AAPL")
    assert price is not None
    assert (price.price, price.high, price.change_pct, price.volume, price.trades) == (
        101.0,
        101.0,
        1.0,
        1230,
        21,
    )
    assert price.as_of == datetime(2026, 10, 6, 22, 5, tzinfo=UTC)
    data.day_bars("AAPL")
    data.alerts()
    assert reads.tables()[5:] == [STOCK_DAILY]  # gold.minute_bars and gold.alerts did not change
    data.movers()
    assert reads.calls[6:] == [(STOCK_DAILY, [("trade_date", "=", D2)])]


def test_latest_alerts_newest_first_from_the_two_latest_days(lake_settings: Settings) -> None:
    alerts = DashboardData(lake_settings).alerts(limit=10)
    assert alerts["alert_id"].tolist() == ALERTS_NEWEST_FIRST
    assert DashboardData(lake_settings).alerts(limit=2)["alert_id"].tolist() == ["a4", "a3"]


def test_movers_of_the_latest_day_by_growth(lake_settings: Settings) -> None:
    movers = DashboardData(lake_settings).movers(n=2)
    assert movers.trade_date == D2
    # D2 growth: 7203.T +4.0, MSFT +1.5, AAPL -0.5, 6758.T -2.0 (SAP has no D2 row).
    assert movers.up["ticker"].tolist() == ["7203.T", "MSFT"]
    assert movers.up["growth_pct"].tolist() == [4.0, 1.5]
    assert movers.up["close"].tolist() == [104.0, 101.5]
    assert movers.down["ticker"].tolist() == ["6758.T", "AAPL"]
    assert movers.down["growth_pct"].tolist() == [-2.0, -0.5]
    everything = DashboardData(lake_settings).movers(n=10)
    assert everything.up["ticker"].tolist() == ["7203.T", "MSFT"]  # a fall is never a rise


def test_default_ticker_and_range(lake_settings: Settings, empty_settings: Settings) -> None:
    data = DashboardData(lake_settings)
    assert data.default_ticker() == "AAPL"  # D2's most traded: 1,200 shares
    assert data.default_range() == (D1, D2)
    one_day = DashboardData(lake_settings.model_copy(update={"render_window_days": 1}))
    assert one_day.default_range() == (D2, D2)
    empty = DashboardData(empty_settings)
    assert empty.default_range() is None
    assert empty.default_ticker() == load_universe()[0].ticker


def test_stream_health_from_the_status_file(lake_settings: Settings) -> None:
    data = DashboardData(lake_settings)
    assert (data.stream().state, data.stream().detail, data.stream().lag) == ("stopped", "not running", None)
    lake_settings.run_dir.mkdir(parents=True, exist_ok=True)
    lake_settings.stream_status_file.write_text(
        json.dumps(
            {
                "pid": 1,
                "state": "running",
                "started_at": "2026-10-06T14:00:00+00:00",
                "updated_at": "2026-10-06T14:35:00+00:00",
                "queries": {
                    "silver": {
                        "batch_id": 17,
                        "input_rows": 850,
                        "processed_rows_per_second": 425.0,
                        "timestamp": "2026-10-06T14:34:58+00:00",
                    }
                },
                "silver_offsets": {"0": 10},
            }
        )
    )
    health = data.stream()
    # No supervisor runs for this data root, and no broker answers on its port.
    assert health.state == "stopped"
    assert (health.batch_id, health.input_rows, health.rows_per_second) == (17, 850, 425.0)
    assert health.batch_at == datetime(2026, 10, 6, 14, 34, 58, tzinfo=UTC)
    assert health.lag is None
    assert (
        health.detail == "not running; lag unknown (broker down), last batch #17 at 14:34:58 UTC (425 rows/s)"
    )


class FakeRender:
    """Counts renders; writes a tiny file per chart (no seaborn: the real render is tested below)."""

    def __init__(self) -> None:
        self.ranges: list[tuple[date, date]] = []

    def __call__(self, settings: Settings, start: date, end: date, out: Path) -> Any:
        from stockstream.analyses import RenderReport

        self.ranges.append((start, end))
        files = []
        for name in CHART_FILES:
            (out / name).write_bytes(f"{name} {len(self.ranges)}".encode())
            files.append(out / name)
        return RenderReport(start, end, out, tuple(files), (D1, D2), (), ())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_charts_are_rendered_once_per_range_and_table_versions(
    lake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, clock = FakeRender(), Clock()
    monkeypatch.setattr(dashboard_data, "render", fake)
    data = DashboardData(lake_settings.model_copy(update={"dashboard_chart_interval": 60.0}), clock=clock)
    first = data.charts(D1, D2)
    assert data.charts(D1, D2) is first
    assert first.versions == {name: 0 for name in GOLD_TABLES}
    assert data.chart_png(first.key, CHART_FILES[0]) == f"{CHART_FILES[0]} 1".encode()
    data.charts(D2, D2)
    assert fake.ranges == [(D1, D2), (D2, D2)]

    # A new version of a gold table: within the interval the last render of the range stands in...
    write_table(lake_settings, STOCK_DAILY, daily_rows().head(1))
    clock.now += 30
    assert data.charts(D1, D2) is first
    # ...after it, the range is rendered again under a new key; the old one is still served.
    clock.now += 31
    second = data.charts(D1, D2)
    assert second.key != first.key
    assert second.versions[STOCK_DAILY] == 1
    assert fake.ranges == [(D1, D2), (D2, D2), (D1, D2)]
    assert data.chart_png(first.key, CHART_FILES[0]) is not None
    assert data.chart_png("unknown", CHART_FILES[0]) is None


def test_charts_refuse_a_backward_or_overlong_range(lake_settings: Settings) -> None:
    data = DashboardData(lake_settings)
    with pytest.raises(ValueError, match="after"):
        data.charts(D2, D1)
    with pytest.raises(ValueError, match="longer than 366 days"):
        data.charts(date(2025, 1, 1), date(2026, 1, 2))


# ---------------------------------------------------------------------------------------------
# web layer


def make_client(settings: Settings) -> TestClient:
    # Imported here: the import warns (Starlette asks for httpx2), and only a test's filter hides it.
    from fastapi.testclient import TestClient

    return TestClient(create_app(settings))


@pytest.fixture
def client(lake_settings: Settings) -> Iterator[TestClient]:
    with make_client(lake_settings) as test_client:
        yield test_client


@pytest.fixture
def empty_client(empty_settings: Settings) -> Iterator[TestClient]:
    with make_client(empty_settings) as test_client:
        yield test_client


def test_page_is_self_contained(client: TestClient, lake_settings: Settings) -> None:
    reply = client.get("/")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/html")
    page = reply.text
    assert "<title>stockstream live</title>" in page
    assert '"refreshMs": 3000' in page
    assert "__CONFIG__" not in page
    # Nothing from the internet: no external scripts, styles or fonts.
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page
    assert client.get("/favicon.ico").status_code == 204
    assert client.get("/healthz").json() == {"status": "ok", "data_root": str(lake_settings.data_root)}


def test_tickers_endpoint(client: TestClient) -> None:
    body = client.get("/api/tickers").json()
    assert len(body["tickers"]) == len(load_universe())
    assert body["tickers"][0] == {
        "ticker": "AAPL",
        "name": "Apple Inc.",
        "country": "United States",
        "currency": "USD",
    }
    assert body["default"] == "AAPL"


def test_price_endpoint(client: TestClient) -> None:
    body = client.get("/api/price", params={"ticker": "AAPL"}).json()
    assert body == {
        "ticker": "AAPL",
        "currency": "USD",
        "trade_date": "2026-10-06",
        "price": 99.5,
        "as_of": "2026-10-06T22:00:00+00:00",
        "open": 100.0,
        "high": 100.75,
        "low": 99.25,
        "change_pct": -0.5,
        "volume": 1200,
        "trades": 20,
        "message": None,
    }
    none_yet = client.get("/api/price", params={"ticker": "GOOGL"})
    assert none_yet.status_code == 200
    assert none_yet.json() == {
        "ticker": "GOOGL",
        "price": None,
        "message": "No trades for GOOGL yet: gold.stock_daily has no row for it in its latest trading "
        "days (the stream writes one with the ticker's first trade of the day).",
    }


def test_bars_endpoint(client: TestClient) -> None:
    body = client.get("/api/bars", params={"ticker": "AAPL", "limit": 2}).json()
    assert body["trade_date"] == "2026-10-06"
    assert body["bars"] == [
        {
            "start": "2026-10-06T14:31:00+00:00",
            "open": 101.0,
            "high": 102.2,
            "low": 100.9,
            "close": 102.0,
            "volume": 80,
            "trades": 3,
        },
        {
            "start": "2026-10-06T14:32:00+00:00",
            "open": 102.0,
            "high": 102.0,
            "low": 100.1,
            "close": 100.5,
            "volume": 60,
            "trades": 2,
        },
    ]
    assert body["message"] is None


def test_alerts_endpoint(client: TestClient) -> None:
    body = client.get("/api/alerts", params={"limit": 3}).json()
    assert [row["alert_id"] for row in body["alerts"]] == ALERTS_NEWEST_FIRST[:3]
    assert body["alerts"][0] == {
        "alert_id": "a4",
        "ticker": "AAPL",
        "pattern": "up_run",
        "event_time": "2026-10-06T14:33:00+00:00",
        "detected_at": "2026-10-06T14:33:05+00:00",
        "trade_date": "2026-10-06",
        "evidence": {"pattern": "up_run", "ticker": "AAPL"},
        "baseline_volume": None,
        "observed_volume": None,
        "run_length": 6,
    }
    assert (body["alerts"][1]["baseline_volume"], body["alerts"][1]["observed_volume"]) == (12.5, 80)
    assert body["message"] is None


def test_movers_endpoint(client: TestClient) -> None:
    body = client.get("/api/movers", params={"n": 1}).json()
    assert body["trade_date"] == "2026-10-06"
    assert body["up"] == [
        {
            "ticker": "7203.T",
            "growth_pct": 4.0,
            "open": 100.0,
            "close": 104.0,
            "volume": 400,
            "currency": "JPY",
            "industry": "Auto Manufacturers",
            "country": "Japan",
        }
    ]
    assert [row["ticker"] for row in body["down"]] == ["6758.T"]
    assert body["message"] is None


def test_stream_endpoint(client: TestClient) -> None:
    assert client.get("/api/stream").json() == {
        "state": "stopped",
        "detail": "not running",
        "lag": None,
        "batch_id": None,
        "batch_at": None,
        "rows_per_second": None,
        "input_rows": None,
        "updated_at": None,
    }


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_analyses_endpoint_serves_the_six_charts(client: TestClient) -> None:
    body = client.get("/api/analyses").json()  # default: the last 5 trading days with data
    assert (body["start"], body["end"]) == ("2026-10-05", "2026-10-06")
    assert body["days_with_data"] == ["2026-10-05", "2026-10-06"]
    assert body["messages"] == []
    assert [chart["number"] for chart in body["charts"]] == [1, 2, 3, 4, 5, 6]
    assert [chart["url"] for chart in body["charts"]] == [
        f"/charts/{body['key']}/{name}" for name in CHART_FILES
    ]
    for chart in body["charts"]:
        image = client.get(chart["url"])
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert png_size(image.content)[0] == 1200  # the report's 12 inches at 100 dpi
    same = client.get("/api/analyses", params={"start": "2026-10-05", "end": "2026-10-06"}).json()
    assert same["key"] == body["key"]  # not rendered again


def test_an_empty_range_gets_the_reports_message(client: TestClient) -> None:
    reply = client.get("/api/analyses", params={"start": "2026-11-02", "end": "2026-11-03"})
    assert reply.status_code == 200
    body = reply.json()
    assert [chart["url"] for chart in body["charts"]] == [None] * 6
    assert body["messages"] == [
        "No gold rows for 2026-11-02 to 2026-11-03: no charts were drawn. "
        "Has the range been extracted, replayed and processed by the stream?"
    ]


@pytest.mark.parametrize(
    ("url", "params", "status", "detail"),
    [
        ("/api/price", {"ticker": "NOPE"}, 404, "unknown ticker 'NOPE'"),
        ("/api/bars", {"ticker": "NOPE"}, 404, "unknown ticker 'NOPE'"),
        (
            "/api/analyses",
            {"start": "2026-13-01", "end": "2026-10-06"},
            400,
            "start '2026-13-01' is not a date",
        ),
        ("/api/analyses", {"start": "2026-10-05", "end": "yesterday"}, 400, "end 'yesterday' is not a date"),
        ("/api/analyses", {"start": "2026-10-06", "end": "2026-10-05"}, 400, "start 2026-10-06 is after end"),
        ("/api/analyses", {"start": "2024-01-01", "end": "2026-10-05"}, 400, "longer than 366 days"),
        ("/charts/0123456789abcdef/1_industry_growth.png", {}, 404, "no rendered chart"),
    ],
)
def test_bad_parameters_get_a_message(
    client: TestClient, url: str, params: dict[str, str], status: int, detail: str
) -> None:
    reply = client.get(url, params=params)
    assert reply.status_code == status
    assert detail in reply.json()["detail"]


@pytest.mark.parametrize(
    ("url", "params"),
    [("/api/price", {}), ("/api/bars", {"ticker": "AAPL", "limit": "0"}), ("/api/alerts", {"limit": "x"})],
)
def test_missing_or_out_of_range_query_parameters_are_422(
    client: TestClient, url: str, params: dict[str, str]
) -> None:
    reply = client.get(url, params=params)
    assert reply.status_code == 422
    assert reply.json()["detail"]


def test_an_empty_lakehouse_gets_messages_not_errors(empty_client: TestClient) -> None:
    replies = {
        url: empty_client.get(url)
        for url in (
            "/",
            "/healthz",
            "/api/tickers",
            "/api/price?ticker=AAPL",
            "/api/bars?ticker=AAPL",
            "/api/alerts",
            "/api/movers",
            "/api/stream",
            "/api/analyses",
        )
    }
    assert {url: reply.status_code for url, reply in replies.items()} == dict.fromkeys(replies, 200)
    assert replies["/api/tickers"].json()["default"] == "AAPL"
    assert replies["/api/price?ticker=AAPL"].json()["message"].startswith("No trades for AAPL yet")
    assert replies["/api/bars?ticker=AAPL"].json()["bars"] == []
    assert replies["/api/bars?ticker=AAPL"].json()["message"].startswith("No 1-minute bars for AAPL yet")
    assert replies["/api/alerts"].json() == {
        "alerts": [],
        "message": "No alerts yet: gold.alerts has none in its latest trading days.",
    }
    assert replies["/api/movers"].json() == {
        "trade_date": None,
        "up": [],
        "down": [],
        "message": "No movers yet: gold.stock_daily has no trading day.",
    }
    analyses = replies["/api/analyses"].json()
    assert analyses["messages"] == [NO_GOLD]
    assert [chart["url"] for chart in analyses["charts"]] == [None] * 6
    assert analyses["charts"][0]["title"] == "Daily industry growth"


# ---------------------------------------------------------------------------------------------
# service


def test_a_taken_dashboard_port_names_the_port_and_the_setting(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    with socket.socket() as squatter:
        squatter.bind((settings.host, settings.dashboard_port))
        squatter.listen()
        with pytest.raises(StockstreamError) as info:
            DashboardService(settings).start()
    assert f":{settings.dashboard_port} is taken" in info.value.message
    assert info.value.hint is not None and "STOCKSTREAM_DASHBOARD_PORT" in info.value.hint
    assert not (tmp_path / "logs").exists(), "nothing was started before the check"


def test_dashboard_url_and_default_port(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STOCKSTREAM_HOST", "STOCKSTREAM_DASHBOARD_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.dashboard_port == 8050
    assert settings.dashboard_url == "http://127.0.0.1:8050"
