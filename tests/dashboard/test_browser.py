"""The dashboard in a real browser: Debian's chromium, driven by Playwright, loads every page
with real data, an admin creates a project and sees it listed, and a member sees only their
own project's jobs; offline, and live on the API emulator with the live scheduler
(:mod:`live_setup`). Skipped, saying why, where chromium is not installed."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from dashboard_files import TOKENS, make_sources
from live_setup import TOKENS as LIVE_TOKENS
from live_setup import LiveDashboard, live_dashboard, project

from corral.dashboard.app import create_app
from k8s.k8s_builders import pod

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
    server = _server(app)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.05)
    yield _url(server)
    server.should_exit = True
    thread.join(timeout=10)


def _server(app: object) -> uvicorn.Server:
    """A uvicorn server for *app* on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                                         log_level="warning"))


def _url(server: uvicorn.Server) -> str:
    return f"http://127.0.0.1:{server.config.port}"


@dataclass
class LiveSite:
    url: str
    live: LiveDashboard
    loop: asyncio.AbstractEventLoop

    def create(self, *objects: dict[str, object]) -> None:
        """Create *objects* in the emulator, on its own event loop."""
        async def create() -> None:
            for obj in objects:
                self.live.emulator.create(obj)
        asyncio.run_coroutine_threadsafe(create(), self.loop).result(timeout=10)


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """The live dashboard (emulator, live scheduler, app) and uvicorn on one event loop, in a
    thread."""
    started: list[LiveSite] = []
    ready, stop = threading.Event(), threading.Event()

    async def main() -> None:
        async with live_dashboard(tmp_path_factory.mktemp("live")) as live:
            server = _server(live.app)
            serving = asyncio.create_task(server.serve())
            while not server.started:
                await asyncio.sleep(0.05)
            started.append(LiveSite(_url(server), live, asyncio.get_running_loop()))
            ready.set()
            await asyncio.to_thread(stop.wait)
            server.should_exit = True
            await serving

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the live dashboard did not start"
    yield started[0]
    stop.set()
    thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def sign_in(browser: object, base_url: str, user: str,
            tokens: dict[str, str] = TOKENS) -> object:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(base_url + "/")
    page.fill("#token", tokens[user])
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


def test_live_a_project_made_in_the_browser_is_enforced_and_private(
        browser: object, live_site: LiveSite) -> None:
    """On the API emulator: the admin creates a 2-GPU project in the form, the live scheduler
    holds its third pod back and the jobs page says why; alice, a member by namespace RBAC,
    sees it, and bob's jobs page shows none of its jobs."""
    url = live_site.url
    page = sign_in(browser, url, "admin", LIVE_TOKENS)
    for key, value in project("vision", 2, "ns-vision").items():
        page.fill(f"#project-form input[name={key}]",
                  ", ".join(value) if isinstance(value, list) else str(value))
    page.click("#project-form button[type=submit]")
    assert "ns-vision" in page.wait_for_selector("tr[data-project=vision]").inner_text()
    live_site.create(*(pod(f"train-{i}", 1, namespace="ns-vision", queue="vision")
                       for i in range(3)))
    deadline = time.monotonic() + 30
    while "may hold at most 2" not in page.inner_text("#page"):
        assert time.monotonic() < deadline, "the jobs page never said why the pod waits"
        page.goto(f"{url}/#jobs?state=pending")
        page.wait_for_selector("#page-jobs")
        page.reload()
        page.wait_for_selector("#page-jobs")
    assert page.locator("#page-jobs tr[data-state=running]").count() == 0  # pending only
    member = sign_in(browser, url, "alice", LIVE_TOKENS)
    assert "vision" in member.inner_text("#page-projects")
    member.goto(f"{url}/#jobs")
    member.wait_for_selector("#page-jobs tr[data-state]")
    assert member.locator("#page-jobs tr[data-state]").count() == 3
    outsider = sign_in(browser, url, "bob", LIVE_TOKENS)
    assert "vision" not in outsider.inner_text("#page-projects")
    outsider.goto(f"{url}/#jobs")
    outsider.wait_for_selector("#page-jobs")
    assert outsider.locator("#page-jobs tr[data-state]").count() == 0


def test_live_the_nodes_page_shows_the_agents_measurements(
        browser: object, live_site: LiveSite) -> None:
    page = sign_in(browser, live_site.url, "alice", LIVE_TOKENS)
    page.goto(f"{live_site.url}/#nodes")
    page.wait_for_selector("#page-nodes #heatmap")
    titles = page.eval_on_selector_all("#heatmap rect title",
                                       "titles => titles.map(t => t.textContent)")
    assert len(titles) == 8
    assert "75% utilised" in titles[0] and titles[7].endswith("unhealthy")
    assert "1 unhealthy" in page.inner_text("#page-nodes")
