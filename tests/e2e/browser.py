"""Drive the Airflow 3.3 UI with Selenium in headless Debian Chromium (a helper for end-to-end tests).

Everything a test does goes through clicks in the React UI: the login form of the
SimpleAuthManager, the pause toggle, the Trigger dialog, the run page. Selectors lean on what the
UI promises to keep (data-testid, aria attributes, roles, visible English text) rather than on
generated CSS class names. Selenium Manager is never used: the Debian chromium and chromedriver
are passed explicitly, so nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote, unquote, urlparse

from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
APT_PACKAGES = ("chromium", "chromium-driver")
WINDOW = (1400, 1000)
TIMEOUT = 30.0
"""Seconds a single UI step (a page, a dialog, a click's effect) may take."""
POLL = 0.2
"""Polling interval of every wait."""
REFRESH_EVERY = 20.0
"""Seconds wait_for_run_state trusts the React app's own refresh before it reloads the page."""
TERMINAL_RUN_STATES = ("success", "failed")

BENIGN_CONSOLE: tuple[re.Pattern[str], ...] = (
    # The SPA asks for its config before anyone signed in; the 401 is what sends it to the login page.
    re.compile(r"/ui/config - Failed to load resource: the server responded with a status of 401"),
)
"""SEVERE console messages of the Airflow UI that are expected and harmless."""

# Everything read from each driver's browser log (get_log drains it, so keep what was read).
_CONSOLE: weakref.WeakKeyDictionary[WebDriver, list[dict[str, Any]]] = weakref.WeakKeyDictionary()

T = TypeVar("T")


# --- browser and driver -------------------------------------------------------------------------


def _installed() -> tuple[Path, Path] | None:
    """The (chromium, chromedriver) pair found on this machine, or None."""
    browser = CHROMIUM if CHROMIUM.is_file() else _which("chromium")
    driver = CHROMEDRIVER if CHROMEDRIVER.is_file() else _which("chromedriver")
    return (browser, driver) if browser and driver else None


def _which(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


def ensure_browser() -> tuple[Path, Path]:
    """The (chromium, chromedriver) paths, installing Debian's packages with apt-get when missing."""
    found = _installed()
    if found:
        return found
    advice = f"install Debian's browser and driver: sudo apt-get install -y {' '.join(APT_PACKAGES)}"
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"chromium and chromedriver are missing and apt-get is not available; {advice}")
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise RuntimeError(f"chromium and chromedriver are missing and this user is not root; {advice}")
        prefix = ["sudo", "-n"]
    apt = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
    install = subprocess.run(
        [*apt, "install", "-y", *APT_PACKAGES], capture_output=True, text=True, check=False
    )
    if install.returncode != 0:
        # A slim image ships without package lists: fetch them once and try again.
        subprocess.run([*apt, "update"], capture_output=True, text=True, check=False)
        install = subprocess.run(
            [*apt, "install", "-y", *APT_PACKAGES], capture_output=True, text=True, check=False
        )
    found = _installed()
    if found is None:
        output = (install.stderr or install.stdout).strip().splitlines()[-5:]
        raise RuntimeError(
            f"could not install chromium and chromedriver ({' '.join(install.args)} exited "
            f"{install.returncode}: {' / '.join(output)}); {advice}"
        )
    return found


def chrome(
    download_dir: Path | None = None, *, headless: bool = True, window: tuple[int, int] = WINDOW
) -> WebDriver:
    """A Chromium WebDriver (headless, English UI, console logs kept) that never uses Selenium Manager."""
    browser, driver_path = ensure_browser()
    os.environ.setdefault("SE_OFFLINE", "true")  # belt and braces: the explicit paths skip it already
    options = webdriver.ChromeOptions()
    options.binary_location = str(browser)
    if headless:
        options.add_argument("--headless=new")
    for argument in (
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={window[0]},{window[1]}",
        "--lang=en-US",  # the Airflow UI picks its language from the browser; the selectors read English
        "--no-first-run",
        "--no-default-browser-check",
    ):
        options.add_argument(argument)
    prefs: dict[str, Any] = {"intl.accept_languages": "en-US,en"}
    if download_dir is not None:
        download_dir = Path(download_dir).resolve()
        download_dir.mkdir(parents=True, exist_ok=True)
        prefs |= {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
        }
    options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(driver_path)), options=options)
    driver.implicitly_wait(0)
    driver.set_page_load_timeout(60)
    _CONSOLE[driver] = []
    return driver


def screenshot(driver: WebDriver, path: Path | str) -> Path:
    """Save a PNG of the current viewport and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not driver.save_screenshot(str(target)):
        raise RuntimeError(f"the browser could not write a screenshot to {target}")
    return target


# --- console ----------------------------------------------------------------------------------


def console_messages(driver: WebDriver) -> list[dict[str, Any]]:
    """Every browser console entry of this driver so far (level, message, source, timestamp)."""
    kept = _CONSOLE.setdefault(driver, [])
    # When the session is gone, what was read before is all there is.
    with contextlib.suppress(WebDriverException):
        kept.extend(cast(Any, driver).get_log("browser"))  # Chromium's own command
    return list(kept)


def console_errors(driver: WebDriver, ignore: Iterable[re.Pattern[str]] = BENIGN_CONSOLE) -> list[str]:
    """SEVERE console messages so far, without those matching an ignore pattern."""
    patterns = list(ignore)
    return [
        entry["message"]
        for entry in console_messages(driver)
        if entry.get("level") == "SEVERE" and not any(p.search(entry["message"]) for p in patterns)
    ]


# --- waiting and clicking ---------------------------------------------------------------------


def wait_for(driver: WebDriver, timeout: float, condition: Callable[[WebDriver], T | None], what: str) -> T:
    """Poll condition until it returns something truthy; a TimeoutException names what was awaited."""
    wait = WebDriverWait(
        driver,
        timeout,
        poll_frequency=POLL,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    )
    return cast(T, wait.until(condition, f"timed out after {timeout:.0f}s waiting for {what}"))


def _visible(root: WebDriver | WebElement, by: str, selector: str) -> WebElement | None:
    """The first displayed element matching the selector under root, or None."""
    for element in root.find_elements(by, selector):
        if element.is_displayed():
            return element
    return None


def _testid(root: WebDriver | WebElement, testid: str) -> WebElement | None:
    """The first displayed element with this data-testid, or None."""
    return _visible(root, By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def _click(driver: WebDriver, element: WebElement) -> None:
    """Scroll the element into view and click it (with JavaScript when a toast covers it)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    try:
        element.click()
    except ElementClickInterceptedException:
        driver.execute_script("arguments[0].click();", element)


# --- login ------------------------------------------------------------------------------------


def _signed_in(driver: WebDriver) -> bool:
    return "/auth/login" not in driver.current_url and _testid(driver, "nav-sidebar") is not None


def _login_error(driver: WebDriver) -> str | None:
    """The text of the login form's error alert, if it shows one."""
    if "/auth/login" not in driver.current_url:
        return None
    # The login page's alerts carry no role or test id: Chakra's (unhashed) component class it is.
    for alert in driver.find_elements(By.CSS_SELECTOR, '[role="alert"], .chakra-alert__root'):
        text = " ".join(alert.text.split())
        if alert.is_displayed() and text and "Simple auth manager enabled" not in text:
            return text
    return None


def login(driver: WebDriver, base_url: str, username: str, password: str, timeout: float = TIMEOUT) -> None:
    """Sign in through the SimpleAuthManager login form (/auth/login/, else wherever `/` redirects)."""
    base = base_url.rstrip("/")

    def form_or_app(d: WebDriver) -> str | None:
        if _visible(d, By.NAME, "username") is not None and _visible(d, By.NAME, "password") is not None:
            return "form"
        return "app" if _signed_in(d) else None

    # Straight to the form: `/` gets there too, but only after the UI has loaded and been refused.
    driver.get(f"{base}/auth/login/")
    try:
        state = wait_for(driver, min(timeout, 10.0), form_or_app, "the login form at /auth/login/")
    except TimeoutException:
        driver.get(f"{base}/")
        state = wait_for(driver, timeout, form_or_app, "the login form or the signed-in UI")
    if state == "app":
        return
    for name, value in (("username", username), ("password", password)):
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)

    def sign_in_button(d: WebDriver) -> WebElement | None:
        button = _visible(d, By.XPATH, "//form//button[@type='submit']")
        return button if button is not None and button.is_enabled() else None

    submit = wait_for(driver, timeout, sign_in_button, "an enabled 'Sign in' button")
    _click(driver, submit)
    outcome = wait_for(
        driver,
        timeout,
        lambda d: "ok" if _signed_in(d) else _login_error(d),
        "the UI after signing in",
    )
    if outcome != "ok":
        raise RuntimeError(f"login as {username!r} failed: {outcome}")


# --- trigger ----------------------------------------------------------------------------------


def _pause_toggle(driver: WebDriver) -> WebElement | None:
    """The DAG's pause switch (a label whose data-state is 'checked' when the DAG is active)."""
    return _testid(driver, "toggle-pause")


def _dag_active(driver: WebDriver) -> bool | None:
    """True when the pause switch shows the DAG unpaused, None when there is no switch yet."""
    toggle = _pause_toggle(driver)
    if toggle is None:
        return None
    checkbox = toggle.find_elements(By.CSS_SELECTOR, 'input[type="checkbox"]')
    if checkbox:
        return checkbox[0].is_selected()
    return toggle.get_attribute("data-state") == "checked"


def _unpause(driver: WebDriver, timeout: float) -> None:
    """Turn the DAG's pause switch on, confirming the change if the UI asks for it."""
    wait_for(driver, timeout, lambda d: _dag_active(d) is not None, "the DAG's pause switch")
    if _dag_active(driver):
        return
    _click(driver, wait_for(driver, timeout, _pause_toggle, "the pause switch"))

    def active_or_confirm(d: WebDriver) -> bool:
        # [webserver] require_confirmation_dag_change makes the UI ask first.
        confirm = _testid(d, "confirmation-confirm-button")
        if confirm is not None:
            _click(d, confirm)
            return False
        return bool(_dag_active(d))

    wait_for(driver, timeout, active_or_confirm, "the DAG to show as unpaused")


def _trigger_dialog(driver: WebDriver) -> WebElement | None:
    """The open Trigger dialog once it has loaded the DAG (its Trigger submit button is there)."""
    for dialog in driver.find_elements(By.CSS_SELECTOR, '[role="dialog"]'):
        if dialog.is_displayed() and _testid(dialog, "trigger-dag-submit") is not None:
            return dialog
    return None


def _choose_single_run(driver: WebDriver, dialog: WebElement, timeout: float) -> None:
    """Pick 'Single Run' when the dialog offers a choice between a single run and a backfill."""
    radios = dialog.find_elements(By.CSS_SELECTOR, 'input[type="radio"][value="single"]')
    if radios and not radios[0].is_selected():
        _click(driver, radios[0].find_element(By.XPATH, "./ancestor::label[1]"))
        wait_for(driver, timeout, lambda d: radios[0].is_selected(), "'Single Run' to be selected")


def _editor_text(editor: WebElement) -> str:
    """The text of a one-line Monaco editor, also the part scrolled out of view."""
    # .view-lines is Monaco's own class; textContent, unlike .text, includes what is scrolled away.
    lines = editor.find_elements(By.CSS_SELECTOR, ".view-lines")
    text = (lines[0] if lines else editor).get_property("textContent")
    return str(text or "").replace("\u00a0", " ")


def _fill_conf(driver: WebDriver, dialog: WebElement, conf: dict[str, Any], timeout: float) -> None:
    """Type conf into 'Configuration JSON' under the dialog's 'Advanced Options'."""
    editor = _visible(dialog, By.CSS_SELECTOR, '[role="code"]')
    if editor is None:
        section = wait_for(
            driver,
            timeout,
            lambda d: _visible(dialog, By.XPATH, ".//button[normalize-space()='Advanced Options']"),
            "the 'Advanced Options' section of the Trigger dialog",
        )
        _click(driver, section)
        editor = wait_for(
            driver,
            timeout,
            lambda d: _visible(dialog, By.CSS_SELECTOR, '[role="code"]'),
            "the 'Configuration JSON' editor",
        )
    text = json.dumps(conf)  # one line: newlines inside strings are escaped
    _click(driver, editor)
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(
        Keys.DELETE
    ).perform()
    # Typed key by key, Monaco would auto-close brackets and quotes; inserted text is taken as is.
    driver.execute_cdp_cmd("Input.insertText", {"text": text})

    def conf_shown(d: WebDriver) -> bool:
        try:
            return bool(json.loads(_editor_text(editor)) == conf)
        except ValueError:
            return False

    wait_for(driver, timeout, conf_shown, f"the configuration editor to hold {text}")
    # The form takes the JSON when the editor loses focus: it pretty-prints it, and a 'Run Parameters'
    # section may appear above, which moves the Trigger button. Click the field's label to blur it.
    label = _visible(dialog, By.XPATH, ".//label[normalize-space()='Configuration JSON']")
    _click(driver, label if label is not None else dialog)
    wait_for(
        driver,
        timeout,
        lambda d: not conf or len(editor.find_elements(By.CSS_SELECTOR, ".view-line")) > 1,
        "the configuration editor to show the JSON pretty-printed",
    )


def _still(locate: Callable[[WebDriver], WebElement | None]) -> Callable[[WebDriver], WebElement | None]:
    """A wait condition: the located element once it is enabled and has stopped moving."""
    seen: list[dict[str, Any]] = []

    def condition(d: WebDriver) -> WebElement | None:
        element = locate(d)
        if element is None or not element.is_enabled():
            seen.clear()
            return None
        seen.append(element.rect)
        return element if len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3] else None

    return condition


def _run_page(base_url: str, dag_id: str) -> re.Pattern[str]:
    """The path of a run page of this DAG, the run id in group 1."""
    prefix = urlparse(base_url).path.rstrip("/")
    return re.compile(rf"^{re.escape(prefix)}/dags/{re.escape(quote(dag_id, safe=''))}/runs/([^/?#]+)")


def _breadcrumb_run_id(driver: WebDriver) -> str | None:
    """The run id the breadcrumb shows as the current page."""
    crumb = _visible(driver, By.CSS_SELECTOR, '[data-testid="breadcrumb-stats"] [aria-current="page"]')
    return crumb.text.strip() if crumb is not None and crumb.text.strip() else None


def unpause_and_trigger(
    driver: WebDriver,
    base_url: str,
    dag_id: str,
    conf: dict[str, Any] | None = None,
    timeout: float = TIMEOUT,
) -> str:
    """Open the DAG page, unpause it with its switch, trigger one run and return the new run's id."""
    base = base_url.rstrip("/")
    driver.get(f"{base}/dags/{quote(dag_id, safe='')}")
    _unpause(driver, timeout)

    def trigger_button(d: WebDriver) -> WebElement | None:
        button = _testid(d, "trigger-dag-button")
        return button if button is not None and button.is_enabled() else None

    _click(driver, wait_for(driver, timeout, trigger_button, "an enabled 'Trigger' button on the DAG page"))
    dialog = wait_for(driver, timeout, _trigger_dialog, "the Trigger dialog")
    _choose_single_run(driver, dialog, timeout)
    if conf is not None:
        _fill_conf(driver, dialog, conf, timeout)

    submit = wait_for(
        driver,
        timeout,
        _still(lambda d: _testid(dialog, "trigger-dag-submit")),
        "an enabled, unmoving 'Trigger' button in the dialog",
    )
    _click(driver, submit)

    # On success the UI shows a 'Dag Run Triggered' toast and opens the new run's page,
    # /dags/<dag_id>/runs/<run_id>: the URL and the breadcrumb both carry the run id.
    run_page = _run_page(base, dag_id)

    def new_run(d: WebDriver) -> str | None:
        failure = _visible(d, By.XPATH, "//*[normalize-space(text())='Failed to Trigger Dag']")
        if failure is not None:
            detail = failure.find_element(By.XPATH, "./..").text.strip()
            raise RuntimeError(f"the UI could not trigger {dag_id}: {detail}")
        match = run_page.match(urlparse(d.current_url).path)
        if match is None:
            return None
        run_id = unquote(match.group(1))
        return run_id if _breadcrumb_run_id(d) == run_id else None

    return wait_for(driver, timeout, new_run, f"the page of the new {dag_id} run")


# --- run state --------------------------------------------------------------------------------


def _run_state(driver: WebDriver, run_id: str) -> str | None:
    """The state the run page's header shows for run_id ('success', 'running', ...), or None."""
    for card in driver.find_elements(By.CSS_SELECTOR, '[data-testid="header-card"]'):
        if not card.is_displayed() or card.text.strip().splitlines()[:1] != [run_id]:
            continue
        badge = _testid(card, "state-badge")
        if badge is not None and badge.text.strip():
            # The badge shows the state's label ('Success', 'Up For Retry'): back to the state name.
            return "_".join(badge.text.strip().lower().split())
    return None


def wait_for_run_state(
    driver: WebDriver, base_url: str, dag_id: str, run_id: str, timeout: float = 300.0
) -> str:
    """Watch the run's page until it shows a final state; return it ('success' or 'failed')."""
    base = base_url.rstrip("/")
    url = f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    if unquote(urlparse(driver.current_url).path) != unquote(urlparse(url).path):
        driver.get(url)
    shown: list[str] = []  # the states seen, in order

    def final(d: WebDriver) -> str | None:
        state = _run_state(d, run_id)
        if state and shown[-1:] != [state]:
            shown.append(state)
        return state if state in TERMINAL_RUN_STATES else None

    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            # The React app refreshes an active run's page by itself; reload now and then anyway.
            return wait_for(driver, min(REFRESH_EVERY, remaining), final, f"run {run_id} to finish")
        except TimeoutException:
            driver.refresh()
    raise TimeoutException(
        f"run {run_id} of {dag_id} showed no final state in the UI within {timeout:.0f}s "
        f"(seen: {' -> '.join(shown) or 'nothing'})"
    )
