"""The admin in a real browser: headless Chromium against a live server logs in,
reads the dashboard and a flow's page, and accepts a suggestion by clicking.

Screenshots go to test-artifacts/admin/ (ignored by git). Without Debian's chromium
and chromium-driver the test is skipped, except in CI (CI=true), where it fails.
"""

import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from flows.models import Route
from suggestions.models import Suggestion
from tests.factories import AccountFactory, CallFactory, FlowFactory
from tests.llmtest.seed import seed_month

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "admin"
# The network is closed: nothing may try to reach it (updates, sync, QUIC probes).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
]
WIDTH = 1400
PASSWORD = "a-long-test-password-for-the-admin"
# Seconds to wait for a page or an element.
WAIT_S = 20


def _missing_browser() -> str:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not missing:
        return ""
    return (
        f"{' and '.join(missing)} not found: install Debian's chromium and "
        "chromium-driver (apt-get install -y chromium chromium-driver)"
    )


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    missing = _missing_browser()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test: {missing}")
        pytest.skip(missing)

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Emptied once per run, so every test's screenshots stay."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


def _screenshot(driver: WebDriver, path: Path) -> None:
    """The whole page, not just the window: the window is grown to fit it first."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(int(height) + 120, 8000))
    driver.save_screenshot(str(path))
    driver.set_window_size(WIDTH, 1000)


def _wait_for(driver: WebDriver, css: str) -> Any:
    return WebDriverWait(driver, WAIT_S).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def _log_in(driver: WebDriver, base_url: str) -> None:
    driver.get(f"{base_url}/admin/login/?next=/admin/")
    driver.find_element(By.ID, "id_username").send_keys("operator")
    driver.find_element(By.ID, "id_password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    _wait_for(driver, "#dash-overview")


def test_an_operator_reads_the_dashboard_and_accepts_a_suggestion_by_clicking(
    live_server: Any, django_user_model: Any, browser: WebDriver, artifacts: Path
):
    seeded = seed_month()
    django_user_model.objects.create_superuser("operator", "ops@example.com", PASSWORD)

    _log_in(browser, live_server.url)
    charts = browser.find_elements(By.CSS_SELECTOR, ".dash-chart svg[role=img]")
    body = browser.find_element(By.TAG_NAME, "body").text
    _screenshot(browser, artifacts / "01-dashboard.png")

    assert charts and "Spend per day by flow" in charts[0].get_attribute("innerHTML")
    assert "support-bot" in body and "globex@example.com" in body
    assert "low on credit" in body

    browser.find_element(By.LINK_TEXT, "support-bot").click()
    _wait_for(browser, "#cost-quality svg")
    flow_page = browser.find_element(By.TAG_NAME, "body").text
    _screenshot(browser, artifacts / "02-flow.png")

    assert "Models used" in flow_page and "gpt-4o-mini" in flow_page
    assert "recommended" in flow_page
    assert browser.find_elements(By.CSS_SELECTOR, "#cost-quality .error-bar")

    browser.get(f"{live_server.url}/admin/")
    row = _wait_for(browser, f"#suggestion-{seeded.suggestion.pk}")
    row.find_element(By.CSS_SELECTOR, "input[value=Accept]").click()
    message = _wait_for(browser, ".messagelist li.info")
    _screenshot(browser, artifacts / "03-accepted.png")

    assert message.text == f"Suggestion {seeded.suggestion.pk} accepted."
    seeded.suggestion.refresh_from_db()
    assert seeded.suggestion.status == Suggestion.Status.ACCEPTED
    route = Route.objects.get(flow=seeded.flows["support-bot"], active=True)
    assert (route.from_model, route.to_model) == ("gpt-4o", "gpt-4o-mini")

    browser.get(f"{live_server.url}/admin/dashboard/flow/{route.flow_id}/")
    routes = _wait_for(browser, "#flow-routes")
    assert "gpt-4o-mini" in routes.text

    browser.get(f"{live_server.url}/admin/accounts/account/{seeded.globex.pk}/change/")
    warning = _wait_for(browser, "#low-credit")
    _screenshot(browser, artifacts / "04-account.png")

    assert "Low on credit" in warning.text

    browser.find_element(By.CSS_SELECTOR, ".object-tools a[href$='/credits/']").click()
    _wait_for(browser, "#id_amount_usd").send_keys("25")
    browser.find_element(By.ID, "id_note").send_keys("invoice 2026-114")
    _screenshot(browser, artifacts / "05-credits.png")
    browser.find_element(By.CSS_SELECTOR, "input[value=Apply]").click()
    _wait_for(browser, ".messagelist li.info")

    entry = seeded.globex.ledger.first()
    assert (entry.kind, entry.amount_usd, entry.note) == (
        "topup",
        Decimal(25),
        "invoice 2026-114",
    )
    assert not browser.find_elements(By.ID, "low-credit")

    # The admin's dark theme (its toggle keeps the choice in localStorage): the
    # charts draw their text in the page's colour.
    browser.execute_script("localStorage.setItem('theme', 'dark')")
    browser.get(f"{live_server.url}/admin/dashboard/flow/{route.flow_id}/")
    _wait_for(browser, "#cost-quality svg")
    _screenshot(browser, artifacts / "06-flow-dark.png")


def _scrolls_sideways(driver: WebDriver) -> bool:
    return bool(
        driver.execute_script(
            "const e = document.documentElement; return e.scrollWidth > e.clientWidth"
        )
    )


def test_an_empty_gateway_and_a_long_flow_name_read_cleanly(
    live_server: Any, django_user_model: Any, browser: WebDriver, artifacts: Path
):
    django_user_model.objects.create_superuser("operator", "ops@example.com", PASSWORD)

    _log_in(browser, live_server.url)
    credits = browser.find_element(By.ID, "card-credits")
    _screenshot(browser, artifacts / "07-empty-dashboard.png")

    assert "no accounts yet" in credits.text
    assert not browser.find_elements(By.CSS_SELECTOR, ".dash-card.dash-low")

    seeded = seed_month()
    AccountFactory(email="big@example.com", credits=Decimal("1000000"))
    name = "nightly-report-" + "x" * 85
    flow = FlowFactory(account=seeded.acme, name=name)
    for _ in range(3):
        CallFactory(flow=flow, cost_usd=Decimal("0.0000048"))

    browser.get(f"{live_server.url}/admin/")
    _wait_for(browser, "#dash-overview")
    legend = browser.find_elements(By.CSS_SELECTOR, ".dash-chart .legend-entry")
    _screenshot(browser, artifacts / "08-dashboard-long-name.png")

    assert not _scrolls_sideways(browser)
    card = browser.find_element(By.ID, "card-credits")
    assert "$1,000,037.06" in card.text
    assert browser.execute_script(
        "const c = arguments[0]; return c.scrollWidth <= c.clientWidth", card
    )
    assert any(
        entry.find_element(By.TAG_NAME, "title").get_attribute("textContent") == name
        for entry in legend
        if entry.find_elements(By.TAG_NAME, "title")
    )

    browser.get(f"{live_server.url}/admin/dashboard/flow/{flow.pk}/")
    _wait_for(browser, "#flow-models")
    body = browser.find_element(By.TAG_NAME, "body").text
    _screenshot(browser, artifacts / "09-flow-long-name.png")

    assert not _scrolls_sideways(browser)
    assert "$0.0000144" in body and "e-0" not in body
    assert "POST /api/samples" in body
