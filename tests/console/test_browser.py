"""The console in a real browser (Debian's headless Chromium, driven by Playwright): sign in,
the portfolio, an account's GPS page whose charts hold the account's own data points, a share
link that shows one account and nothing else, another tenant's session seeing none of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page

from ampm.local.demo_equivalents import ACME, SUNNY_ROOFS
from ampm.local.demo_scenario import NORTHWIND
from shared.clock import utc_now
from shared.tenancy.store import CreatedTenant
from tests.console.conftest import ConsoleStack

pytestmark = pytest.mark.integration


class Errors:
    """The console errors and page errors a page raised."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def watch(self, page: Page) -> Page:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.seen.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.seen.append(str(error)))
        return page


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    fresh = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield fresh
    finally:
        await fresh.close()


async def sign_in(page: Page, stack: ConsoleStack, key: str) -> None:
    await page.goto(f"{stack.url}/")
    assert page.url.endswith("/sign-in")  # not signed in: sent to sign in
    await page.fill("#key", key)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()
    assert page.url == f"{stack.url}/", await page.content()


async def api(stack: ConsoleStack, service: str, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(headers=stack.system.secret_headers()) as http:
        answer = await http.get(f"{stack.system.url(service)}{path}", params=params)
    answer.raise_for_status()
    return answer.json()


async def test_a_csm_signs_in_and_reads_the_portfolio_and_an_account_s_gps_page(
    console_stack: ConsoleStack, context: BrowserContext
) -> None:
    errors = Errors()
    page = errors.watch(await context.new_page())
    await sign_in(page, console_stack, console_stack.system.tenant.secret_key.plaintext)

    # The session cookie holds no key: HttpOnly, and the key is nowhere in the page.
    (cookie,) = [c for c in await context.cookies() if c["name"] == "ampm_console"]
    assert cookie["httpOnly"] and console_stack.system.tenant.secret_key.plaintext not in (
        cookie["value"] + await page.content()
    )

    rows = await page.locator("table.portfolio tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.account)"
    )
    assert set(rows) == {NORTHWIND, SUNNY_ROOFS, ACME}
    # Sorted by health by default; a click on the column header sorts by name.
    health = await page.locator("table.portfolio tbody td.num:nth-child(2)").all_inner_texts()
    assert [float(h) for h in health] == sorted(float(h) for h in health)
    await page.click("th a:has-text('Account')")
    names = await page.locator("table.portfolio tbody td:first-child a").all_inner_texts()
    assert names == sorted(names, key=str.lower)
    await page.fill("#q", "sunny")
    await page.click(".filters button")
    assert await page.locator("table.portfolio tbody tr").count() == 1

    await page.goto(f"{console_stack.url}/accounts/{NORTHWIND}")
    await page.wait_for_selector("#chart-objective-lead_conversion_rate .main-svg")
    ampm = await api(console_stack, "correlation", f"/v1/accounts/{NORTHWIND}/ampm")
    objective = ampm["objectives"][0]
    plotted = await page.evaluate(
        "() => document.getElementById('chart-objective-lead_conversion_rate').data[0].y"
    )
    assert plotted == [p["actual"] for p in objective["periods"] if p["actual"] is not None]
    contacts = next(a for a in ampm["activities"] if a["metric"] == "new_contacts_identified")
    bars = await page.evaluate(
        "() => document.getElementById('chart-activity-new_contacts_identified').data[0].y"
    )
    assert bars == [p["actual"] for p in contacts["periods"] if p["actual"] is not None]
    axis = await page.evaluate(
        "() => document.getElementById('chart-activity-new_contacts_identified').layout.yaxis"
        ".title.text"
    )
    assert "contacts per week" in axis
    # The projection and its interval reach the deadline.
    names = await page.evaluate(
        "() => document.getElementById('chart-objective-lead_conversion_rate').data"
        ".map(trace => trace.name)"
    )
    assert "projection" in names and any("prediction interval" in n for n in names)

    # The sponsor left in week 8 and a successor came in week 10: both on the timeline.
    departure = page.locator("tr.signal", has_text="sponsor departure")
    assert await departure.count() == 1
    row = await departure.inner_text()
    cleared = row.split("cleared ")[1][:10]
    assert cleared < row[:10] or cleared < utc_now().date().isoformat()  # in event time
    people = await page.locator("#people tbody").inner_text()
    assert "Dana Reyes" in people and "departed" in people and "Alex Chen" in people
    verdicts = await page.locator("#verdicts tbody").inner_text()
    assert "moves the objective" in verdicts

    # The value Acme Logistics received, each equivalent with its calculation and source.
    await page.goto(f"{console_stack.url}/accounts/{ACME}")
    value = await api(
        console_stack, "equivalents", f"/v1/accounts/{ACME}/value", **{"from": "2025-01-01"}
    )
    shown = await page.locator("#value .equivalents summary").all_inner_texts()
    assert shown and set(shown) == {e["text"] for e in value["action"] + value["feel_good"]}
    await page.locator("#value .equivalents summary").first.click()
    assert "Source:" in await page.locator("#value .equivalents details[open]").inner_text()
    assert errors.seen == []


async def test_a_share_link_shows_one_account_read_only_until_it_is_revoked(
    console_stack: ConsoleStack, context: BrowserContext, browser: Browser
) -> None:
    errors = Errors()
    page = errors.watch(await context.new_page())
    await sign_in(page, console_stack, console_stack.system.tenant.secret_key.plaintext)
    await page.goto(f"{console_stack.url}/accounts/{SUNNY_ROOFS}")
    await page.click("#sharing button[type=submit]")
    link = await page.locator("#new-share").get_attribute("href")
    assert link and "/shared/" in link

    visitor = await browser.new_context(viewport={"width": 390, "height": 844})
    try:
        guest = errors.watch(await visitor.new_page())
        await guest.goto(link)
        await guest.wait_for_selector("#chart-objective-energy_generated .main-svg")
        assert await guest.locator("h1").inner_text() == "Sunny Roofs"
        assert await guest.locator("#value .equivalents details").count() > 0
        assert await guest.locator("nav").count() == 0  # no way to the portfolio
        assert await guest.locator("#sharing").count() == 0
        # A phone's width: the page itself never scrolls sideways (wide tables scroll inside).
        width = await guest.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390
        # Nothing else is reachable with the link's visitor.
        for path in ("/", f"/accounts/{NORTHWIND}", "/deliveries"):
            await guest.goto(f"{console_stack.url}{path}")
            assert guest.url.endswith("/sign-in"), path
        assert errors.seen == []
        forged = link.rsplit("/", 1)[0] + "/not-a-token"
        assert (await guest.goto(forged)).status == 404  # type: ignore[union-attr]
        errors.seen.clear()  # the browser reports the 404 of that page itself
    finally:
        await visitor.close()

    await page.goto(f"{console_stack.url}/accounts/{SUNNY_ROOFS}")
    await page.click("#sharing table button[type=submit]")
    await page.wait_for_url(f"{console_stack.url}/accounts/{SUNNY_ROOFS}#sharing")
    async with httpx.AsyncClient() as http:
        assert (await http.get(link)).status_code == 404
    assert errors.seen == []


async def test_another_tenant_s_session_reaches_none_of_this_tenant_s_pages(
    console_stack: ConsoleStack, context: BrowserContext, other_tenant_module: CreatedTenant
) -> None:
    page = await context.new_page()
    await sign_in(page, console_stack, other_tenant_module.secret_key.plaintext)
    assert await page.locator("table.portfolio tbody tr[data-account]").count() == 0
    answer = await page.goto(f"{console_stack.url}/accounts/{NORTHWIND}")
    assert answer is not None and answer.status == 404
    assert "Dana Reyes" not in await page.content()


async def test_forms_without_their_csrf_token_are_refused(console_stack: ConsoleStack) -> None:
    async with httpx.AsyncClient(base_url=console_stack.url) as http:
        form = await http.get("/sign-in")
        assert form.status_code == 200
        refused = await http.post(
            "/sign-in", data={"key": console_stack.system.tenant.secret_key.plaintext}
        )
        assert refused.status_code == 403
        bad_key = await http.post("/sign-in", data={"key": "ampm_sk_nope", "csrf": "x"})
        assert bad_key.status_code == 403
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
    assert form.headers["referrer-policy"] == "same-origin"
