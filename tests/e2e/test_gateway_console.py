"""The browser console in a real headless chromium (Debian's, driven by Playwright): type a
message, see the reply streamed with its scores; a crisis message shows the banner and pointer."""

import shutil

import pytest

from tests.unit.gateway.running import running_gateway

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CRISIS = "I don't want to live anymore and I have a plan to end it."


@pytest.fixture(scope="module")
def page(triton_server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    folder = tmp_path_factory.mktemp("console")
    with running_gateway(folder, triton_grpc_url=triton_server.grpc_url,
                         overrides=["client.timeout_s=240", "client.cache.backend=none"]) as server, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(server.url + "/")
        yield page
        browser.close()


def send(page, text: str) -> None:
    page.fill("#message", text)
    page.press("#message", "Enter")


def test_a_message_gets_a_streamed_reply_and_its_scores(page):
    page.wait_for_selector("#model option[value='pixel-therapy-session']", state="attached")
    send(page, "I've been feeling anxious about work and can't sleep.")
    reply = page.locator(".turn.assistant").last
    reply.locator(".scores").wait_for(timeout=240_000)
    assert reply.locator(".text").inner_text().strip()
    scores = reply.locator(".scores").inner_text()
    assert "overall EQ" in scores and "EQ empathy" in scores and "safety" in scores
    assert not page.locator("#crisis-banner").is_visible()


def test_a_crisis_message_shows_the_banner_with_the_pointer(page, tmp_path):
    page.click("#new-conversation")
    page.select_option("#model", "pixel-crisis-support")
    send(page, CRISIS)
    page.locator("#crisis-banner").wait_for(state="visible", timeout=240_000)
    assert "crisis line" in page.locator("#crisis-pointer").inner_text()
    page.locator(".turn.assistant .scores").last.wait_for(timeout=240_000)
    page.screenshot(path=str(tmp_path / "console.png"), full_page=True)
