"""The console at phone width (390 px): no page is wider than the screen.

Walks the main console pages as alice (admin): every link of the navigation,
plus the detail pages they lead to (a conversation, a team, an inbox), with
data in them (long previews, several teams and inboxes). A page passes when
document.documentElement.scrollWidth <= 390, i.e. nothing scrolls sideways.
"""

import pytest

from tests.browser.test_console_operator import log_in
from tests.conversations.console_helpers import conversation_in
from tests.factories import MessageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LONG = (
    "Guten Tag, ich habe eine Frage zu meiner Rechnung vom letzten Monat und "
    "möchte wissen, warum der Betrag höher ausgefallen ist als erwartet."
)


@pytest.fixture
def busy_company(personas):
    for i in range(6):
        c = conversation_in(
            personas.inbox_a if i % 2 else personas.inbox_a2,
            status=("waiting", "operator", "bot", "closed")[i % 4],
            assigned_to=personas.bob if i % 4 == 1 else None,
            minutes_ago=i * 7,
        )
        MessageFactory(conversation=c, body=LONG + " averyveryverylongwordwithoutanyspaces" * 3)
    return personas


def test_every_main_console_page_fits_a_phone(live_server, new_page, busy_company, screenshot):
    base = live_server.url
    page = new_page(viewport=PHONE)
    log_in(page, base, "alice", busy_company.password)
    links = page.eval_on_selector_all(
        "nav.mainnav a[href]", "els => els.map(a => a.getAttribute('href'))"
    )
    urls = ["/console/", "/console/rights/"]
    urls += [u for u in dict.fromkeys(links) if u.startswith("/console/")]
    assert "/console/conversations/" in urls and len(urls) >= 8, urls
    # one of each kind of detail page
    for listing, selector in (
        ("/console/conversations/", "tbody[data-rows] a[href*='/console/conversations/']"),
        ("/console/teams/", "main a[href*='/console/teams/']"),
        ("/console/inboxes/", "main a[href*='/console/inboxes/']"),
    ):
        page.goto(base + listing)
        hrefs = page.eval_on_selector_all(selector, "els => els.map(a => a.getAttribute('href'))")
        detail = [h for h in hrefs if h.rstrip("/") != listing.rstrip("/")]
        if detail:
            urls.append(detail[0])
    too_wide = {}
    for url in dict.fromkeys(urls):
        response = page.goto(base + url)
        assert response.status == 200, url
        width = page.evaluate("document.documentElement.scrollWidth")
        screenshot(page, "390-" + url.strip("/").replace("/", "-"))
        if width > PHONE["width"]:
            too_wide[url] = width
    assert not too_wide, f"wider than {PHONE['width']} px: {too_wide}"


def test_the_queue_is_cards_at_phone_width_and_a_table_on_a_desktop(
    live_server, new_page, busy_company, screenshot
):
    base = live_server.url
    phone = new_page(viewport=PHONE)
    log_in(phone, base, "bob", busy_company.password)
    phone.goto(f"{base}/console/conversations/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.locator("table.conversations thead").bounding_box()["height"] <= 1
    row = phone.locator("tbody[data-rows] tr").first
    assert row.bounding_box()["width"] <= PHONE["width"]
    screenshot(phone, "queue-390")

    desktop = new_page(viewport={"width": 1280, "height": 900})
    log_in(desktop, base, "bob", busy_company.password)
    desktop.goto(f"{base}/console/conversations/")
    assert desktop.locator("table.conversations thead").bounding_box()["height"] > 10
    screenshot(desktop, "queue-1280")
