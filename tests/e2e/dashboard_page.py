"""Drive the live dashboard (stockstream.dashboard) in headless Debian Chromium: helpers for the
integration test and the end-to-end suite. The browser comes from tests/e2e/browser.py (`chrome()`).

The page's contract with these helpers: `#ticker` is the ticker <select>; `#price` shows the live
price (the ticker's last traded price, gold.stock_daily's close) with `data-ticker` (whose price it
is) and `data-close` (the raw close, '' while there is none); `#updated` reads 'updated ...' after
each refresh; the six charts are the <img> elements in `#charts figure`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.e2e.browser import TIMEOUT, screenshot, wait_for

CHARTS_LOADED = """
return Array.from(document.querySelectorAll('#charts figure img'))
  .filter((img) => !img.hidden && img.complete && img.naturalWidth > 0)
  .map((img) => [img.closest('figure').id, img.naturalWidth, img.naturalHeight]);
"""


def dashboard_url(
    base_url: str, ticker: str | None = None, start: str | None = None, end: str | None = None
) -> str:
    """The page's URL, preselecting a ticker and an analyses range (YYYY-MM-DD) when given."""
    params = {key: value for key, value in (("ticker", ticker), ("start", start), ("end", end)) if value}
    return base_url.rstrip("/") + "/" + (f"?{urlencode(params)}" if params else "")


def open_dashboard(
    driver: WebDriver,
    base_url: str,
    ticker: str | None = None,
    start: str | None = None,
    end: str | None = None,
    timeout: float = TIMEOUT,
) -> None:
    """Open the dashboard and wait for its first refresh (and for `ticker`'s price panel, if given)."""
    driver.get(dashboard_url(base_url, ticker, start, end))
    wait_for(
        driver,
        timeout,
        lambda d: d.find_element(By.ID, "updated").text.startswith("updated"),
        "the dashboard's first refresh",
    )
    if ticker is not None:
        wait_for(driver, timeout, lambda d: _price_ticker(d) == ticker, f"the price panel of {ticker}")


def _price_ticker(driver: WebDriver) -> str | None:
    return driver.find_element(By.ID, "price").get_attribute("data-ticker") or None


def shown_price(driver: WebDriver) -> tuple[str | None, float | None]:
    """(ticker, price) the price panel shows now; price None while the ticker has no trades."""
    element = driver.find_element(By.ID, "price")
    close = element.get_attribute("data-close")
    return element.get_attribute("data-ticker") or None, float(close) if close else None


def select_ticker(driver: WebDriver, ticker: str, timeout: float = TIMEOUT) -> None:
    """Choose a ticker in the page's select and wait until its price panel has refreshed."""
    Select(driver.find_element(By.ID, "ticker")).select_by_value(ticker)
    wait_for(driver, timeout, lambda d: _price_ticker(d) == ticker, f"the price panel of {ticker}")


def wait_for_price(
    driver: WebDriver, ticker: str, accept: Callable[[float], bool], timeout: float, what: str = "a price"
) -> float:
    """Wait (polling the DOM, the page refreshes itself) until the panel shows a price of
    `ticker` that `accept` takes; return it."""

    def shown(d: WebDriver) -> float | None:
        name, price = shown_price(d)
        return price if name == ticker and price is not None and accept(price) else None

    try:
        return wait_for(driver, timeout, shown, f"{what} of {ticker} on the dashboard")
    except Exception as exc:
        raise AssertionError(f"{exc}; the page shows {shown_price(driver)}") from None


def price_of(driver: WebDriver, base_url: str, ticker: str, timeout: float = TIMEOUT) -> float:
    """Open the dashboard for `ticker` and return the live price it shows (waiting for one)."""
    open_dashboard(driver, base_url, ticker=ticker, timeout=timeout)
    return wait_for_price(driver, ticker, lambda _price: True, timeout)


def wait_for_charts(driver: WebDriver, count: int = 6, timeout: float = 120.0) -> list[Any]:
    """Wait until `count` chart images have loaded (naturalWidth > 0); return [figure id, width,
    height] of each. The first render of a range takes seconds of CPU."""

    def loaded(d: WebDriver) -> list[Any] | None:
        images = d.execute_script(CHARTS_LOADED)
        return images if len(images) >= count else None

    return wait_for(driver, timeout, loaded, f"{count} loaded chart images")


def full_page_screenshot(driver: WebDriver, path: Path) -> Path:
    """A PNG of the whole page, not just the viewport: the window grows to the page's height first."""
    width = driver.get_window_size()["width"]
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(width, max(height + 150, 800))  # + the browser's own frame
    return screenshot(driver, path)


def choose_range(driver: WebDriver, start: str, end: str, timeout: float = 120.0) -> str:
    """Set the analyses' dates (YYYY-MM-DD), press Show, and wait until the page shows that range;
    return the text of its messages ('' when there are none)."""
    driver.execute_script(
        "document.getElementById('start').value = arguments[0];"
        "document.getElementById('end').value = arguments[1];",
        start,
        end,
    )
    driver.find_element(By.ID, "show-range").click()
    wait_for(
        driver,
        timeout,
        lambda d: d.find_element(By.ID, "analyses-state").text.startswith(f"{start} to {end}:"),
        f"the analyses of {start} to {end}",
    )
    return str(driver.find_element(By.ID, "analyses-messages").text)
