"""The dashboard in a real browser: Debian's chromium, driven by Playwright, loads every page
with real data, an admin creates a project and sees it listed, and a member sees only their
own project's jobs. Skipped, saying why, where chromium is not installed."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from dashboard_files import TOKENS, make_sources

from corral.dashboard.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PAGES = {"projects": "vision", "usage": "alice", "jobs": "speech-wait",
         "nodes": "node-a", "datasets": "imagenet", "runs": "compare/fifo"}

if not Path(CHROMIUM).exists():
    pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard served by uvicorn on a free loopback port, in a thread."""
    app = create_app(make_sources(tmp_path_factory.mktemp("browser")))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def sign_in(browser: object, base_url: str, user: str) -> object:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(base_url + "/")
    page.fill("#token", TOKENS[user])
    page.click("#login button")
    page.wait_for_selector("#page-projects")
    return page


def test_every_page_shows_real_data(browser: object, base_url: str) -> None:
    page = sign_in(browser, base_url, "admin")
    failures: list[str] = []
    page.on("requestfailed", lambda request: failures.append(request.url))
    for name, expected in PAGES.items():
        page.goto(f"{base_url}/#{name}")
        page.wait_for_selector(f"#page-{name}")
        assert expected in page.inner_text("#page"), name
    page.goto(f"{base_url}/#usage")
    page.wait_for_selector("#page-usage svg polyline", state="attached")
    page.goto(f"{base_url}/#nodes")
    page.wait_for_selector("#page-nodes #heatmap")
    assert page.locator("#heatmap rect").count() == 8
    page.goto(f"{base_url}/#runs")
    page.wait_for_selector("#page-runs")
    page.click("text=Open")
    assert "report" in page.frame_locator("iframe").locator("h1").inner_text()
    assert failures == []
    assert all(url.startswith(base_url) for url in _requested(page, base_url))


def _requested(page: object, base_url: str) -> list[str]:
    """Every URL the page loaded resources from, as the browser's timing API lists them."""
    return page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")  # type: ignore[attr-defined]


def test_an_admin_creates_a_project_and_sees_it(browser: object, base_url: str) -> None:
    page = sign_in(browser, base_url, "admin")
    page.fill("#project-form input[name=name]", "robotics")
    page.fill("#project-form input[name=quota_gpus]", "6")
    page.fill("#project-form input[name=members]", "alice, bob")
    page.click("#project-form button[type=submit]")
    row = page.wait_for_selector("tr[data-project=robotics]")
    assert "6" in row.inner_text() and "alice, bob" in row.inner_text()
    member = sign_in(browser, base_url, "alice")
    assert "robotics" in member.inner_text("#page-projects")
    assert member.locator("#project-form").count() == 0  # members change nothing


def test_a_member_sees_only_their_projects_jobs(browser: object, base_url: str) -> None:
    page = sign_in(browser, base_url, "bob")
    page.goto(f"{base_url}/#jobs")
    page.wait_for_selector("#page-jobs tr[data-state]")
    projects = page.eval_on_selector_all(
        "#page-jobs tr[data-state] td:nth-child(2)", "cells => cells.map(c => c.textContent)")
    assert projects and set(projects) == {"speech"}
    assert "vision" not in page.inner_text("#page-jobs table:last-of-type")
