"""Take the screenshots in docs/screenshots/ of the console's pages, from the demo.

Starts the whole system on a throwaway broker and PostgreSQL with the demo replayed (as
``make dev`` does), signs in with Debian's headless Chromium, and saves the portfolio and an
account's GPS page at laptop (1280 px) and phone (390 px) widths:

    .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playwright.async_api import async_playwright  # noqa: E402

from ampm.local.demo_scenario import NORTHWIND  # noqa: E402
from ampm.local.stack import running_demo  # noqa: E402
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

SHOTS = Path(__file__).with_name("screenshots")
WIDTHS = {"laptop": (1280, 900), "phone": (390, 844)}


async def main() -> None:
    SHOTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ampm-shots-") as home:
        async with running_demo(Path(home)) as demo, async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for label, (width, height) in WIDTHS.items():
                context = await browser.new_context(viewport={"width": width, "height": height})
                page = await context.new_page()
                await page.goto(f"{demo.console}/sign-in")
                await page.fill("#key", demo.tenant.secret_key.plaintext)
                await page.click("button[type=submit]")
                await page.wait_for_url(f"{demo.console}/")
                await page.screenshot(path=str(SHOTS / f"portfolio-{width}.png"), full_page=True)
                await page.goto(f"{demo.console}/accounts/{NORTHWIND}")
                await page.wait_for_selector(".chart .main-svg")
                await page.wait_for_timeout(500)  # let the last charts finish drawing
                await page.screenshot(path=str(SHOTS / f"account-{width}.png"), full_page=True)
                print(f"{label}: portfolio-{width}.png, account-{width}.png")
                await context.close()
            await browser.close()


if __name__ == "__main__":
    asyncio.run(main())
