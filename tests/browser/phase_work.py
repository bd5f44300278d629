"""A phase's work done through the pages, as a reviewer would do it."""

from playwright.sync_api import Page, expect


def finish_finding(page: Page, base_url: str, code: str) -> None:
    """Tick every item of `code` still unticked and move it to done, through its page."""
    page.goto(f"{base_url}/findings/{code}/")
    boxes = page.locator(".checklist input[type=checkbox]")
    for index in range(boxes.count()):
        box = boxes.nth(index)
        if box.is_checked():
            continue
        with page.expect_response(lambda response: "/checklist/" in response.url):
            box.check()
        expect(box).to_be_checked()
    expect(page.get_by_text("Checklist: 13 of 13 ticked")).to_be_visible()
    for step in ["in progress", "in review", "done"]:
        page.get_by_role("button", name=f"Move to {step}").click()
        expect(page.get_by_role("heading", name=f"Status: {step.capitalize()}")).to_be_visible()
