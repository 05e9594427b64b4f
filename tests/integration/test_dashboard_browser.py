"""The dashboard as `stockstream up` runs it (its own process, DashboardService) on a hand-built
lakehouse, in headless Debian Chromium: no console errors, the six charts, and a live price that
follows a trade written to gold.stock_daily (as the stream's MERGE does) within the polling period."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from stockstream.config import PROJECT_ROOT
from stockstream.services.dashboard import DashboardService
from stockstream.services.manager import Platform
from tests.conftest import isolated_settings
from tests.dashboard_lake import D2, append_trade, build_lakehouse
from tests.e2e import browser
from tests.e2e.dashboard_page import (
    CHARTS_LOADED,
    choose_range,
    full_page_screenshot,
    open_dashboard,
    select_ticker,
    wait_for_charts,
    wait_for_price,
)

pytestmark = pytest.mark.integration

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"


def test_dashboard_in_headless_chromium(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "root", start_timeout=60)
    build_lakehouse(settings)
    browser.ensure_browser()
    service = DashboardService(settings)
    service.start()
    try:
        line = next(line for line in Platform(settings).status() if line.name == "dashboard")
        assert (line.running, line.healthy, line.detail) == (True, True, settings.dashboard_url)
        assert line.log == str(settings.log_dir / "dashboard.log")

        driver = browser.chrome()
        try:
            open_dashboard(driver, settings.dashboard_url)
            charts = wait_for_charts(driver)
            assert sorted(figure for figure, _width, _height in charts) == [f"chart-{n}" for n in range(1, 7)]
            assert all(width == 1200 for _figure, width, _height in charts)

            select_ticker(driver, "MSFT")
            # MSFT's gold.stock_daily row of D2 closed at 101.5 (tests/dashboard_lake.py).
            wait_for_price(driver, "MSFT", lambda price: price == 101.5, timeout=10, what="101.5")
            assert driver.find_element("id", "price").text == "101.50 USD"

            append_trade(
                settings, D2, "MSFT", 103.25, shares=25, updated_at=datetime(2026, 10, 6, 22, 30, tzinfo=UTC)
            )
            # The page polls every dashboard_refresh_seconds: the new close shows within a few polls.
            within = 3 * settings.dashboard_refresh_seconds
            wait_for_price(driver, "MSFT", lambda price: price == 103.25, timeout=within, what="103.25")
            assert driver.find_element("id", "price").text == "103.25 USD"
            assert driver.find_element("id", "change").text == "+3.25% today"
            assert driver.find_element("id", "price-detail").text == (
                "2026-10-06, last trade price, updated 22:30:00 UTC · day 99.75 - 103.25 · "
                "725 shares in 11 trade(s)"
            )

            full_page_screenshot(driver, ARTIFACTS / "dashboard.png")

            # A range without data: the report's message, and no chart left from the last range.
            messages = choose_range(driver, "2026-11-02", "2026-11-03")
            assert messages.startswith("No gold rows for 2026-11-02 to 2026-11-03: no charts were drawn.")
            assert driver.execute_script(CHARTS_LOADED) == []
            assert "?ticker=MSFT&start=2026-11-02&end=2026-11-03" in driver.current_url
            assert browser.console_errors(driver, ignore=()) == []
        finally:
            driver.quit()
    finally:
        assert service.stop()
    assert not service.is_running()
    assert not service.healthy()
