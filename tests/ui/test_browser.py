"""The lake browser in a real browser: Debian's chromium driven by Playwright (its own
browser download cannot work offline), against the app served on 127.0.0.1.

A visitor opens the overview, follows a table, its quarantined rows, the file one
came from, a file's lineage graph to the model, and an enclosure's twin; each page is
saved as a screenshot under the test's folder (``screenshots/``)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.ui.conftest import Browsed, browsed
from tests.ui.live_server import serving

pytestmark = pytest.mark.slow


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "no chromium: `python3 scripts/dev.py test` installs it (apt-get install chromium)"
        )
    return found


@pytest.fixture(scope="module")
def local_browsed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browsed]:
    with browsed(request, BACKENDS[0].values[0], tmp_path_factory.mktemp("browser")) as built:
        yield built


@pytest.fixture
def page(local_browsed: Browsed) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    from agrolake.ui.webapp import create_app

    with serving(create_app(local_browsed.lake)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        context = browser.new_context(base_url=url, viewport={"width": 1400, "height": 900})
        # Offline, as on a farm's laptop: any request beyond the app fails the test.
        blocked: list[str] = []
        context.route(
            re.compile(r"^(?!http://127\.0\.0\.1:)"),
            lambda route: (blocked.append(route.request.url), route.abort()),
        )
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
        assert not blocked, f"pages asked for outside resources: {blocked}"


def test_a_visitor_follows_tables_quarantine_lineage_and_the_twin(
    page: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    shots = tmp_path / "screenshots"
    shots.mkdir()

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    page.goto("/")
    expect(page.get_by_role("heading", name="The lake at a glance")).to_be_visible()
    expect(page.locator(".tile", has_text="rejected files")).to_contain_text("6")
    shot("1-overview")

    page.get_by_role("link", name="trusted.erp_activities", exact=True).first.click()
    expect(page.get_by_role("heading", name="trusted.erp_activities")).to_be_visible()
    expect(page.locator("table.grid").first).to_contain_text("TRITURADO RESTOS DE PODA")
    expect(page.get_by_text("page 1 of 5")).to_be_visible()
    shot("2-table")

    page.get_by_role("link", name="quarantined rows").click()
    expect(page.get_by_role("heading", name="Quarantined rows")).to_be_visible()
    expect(page.get_by_text("31/02/2024")).to_be_visible()
    shot("3-quarantine")

    failed = page.locator("tr", has_text="31/02/2024")
    failed.get_by_role("link", name="actividades_valores_malos.csv").click()
    expect(page.get_by_role("heading", name="actividades_valores_malos.csv")).to_be_visible()
    expect(page.get_by_text("12 rows read, 9 written")).to_be_visible()
    shot("4-ingest")

    page.goto("/datasets/lab.wine_quality")
    page.get_by_role("link", name="winequality-red.csv", exact=True).click()
    page.get_by_role("link", name="lineage graph").click()
    graph = page.locator("svg.lineage")
    expect(graph).to_be_visible()
    expect(graph.locator(".node.model")).to_contain_text("wine-quality v1")
    shot("5-lineage-of-a-file")

    graph.locator("a", has=page.locator(".node.model")).click()
    expect(page.get_by_role("heading", name="Lineage of wine-quality/1")).to_be_visible()
    expect(page.locator("svg.lineage .node.file")).to_have_count(3)
    shot("6-lineage-of-the-model")

    page.get_by_role("link", name="Digital twin").click()
    page.get_by_label("Find an enclosure").fill("Lauranne")
    page.get_by_role("button", name="search").click()
    page.get_by_role("link", name="50-73-0-0-25-338-3").click()
    expect(page.get_by_role("heading", name="50-73-0-0-25-338-3")).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.locator("svg.chart .band")).to_be_visible()
    expect(page.get_by_text("GLIFOSATO 36 SL")).to_be_visible()
    shot("7-twin")

    assert sorted(p.name for p in shots.iterdir()) == [
        "1-overview.png", "2-table.png", "3-quarantine.png", "4-ingest.png",
        "5-lineage-of-a-file.png", "6-lineage-of-the-model.png", "7-twin.png",
    ]  # fmt: skip
