"""Every same-site link a viewer can reach from the dashboard answers 200.

The crawler fetches each link with the browser's session and opens each page in the browser to
follow every link on it, the README preview's included. A link with a query string (a sort
order, a page of a table, a filter) is the same page again: it is fetched and must answer 200,
but its own links, the same page's links in another order, are not followed, or the crawl would
grow with every combination of them.
"""

from collections import deque
from urllib.parse import urldefrag, urlsplit

from playwright.sync_api import Page

LINKS = "() => [...document.querySelectorAll('a[href]')].map(link => link.href)"


def same_site_links(page: Page, site: str) -> list[str]:
    links = (urldefrag(href).url for href in page.evaluate(LINKS))
    return [link for link in links if urlsplit(link).netloc == site]


def test_it_answers_200_to_every_link_a_viewer_can_follow(
    logged_in_page, live_server, viewer, catalogue
):
    page = logged_in_page("viewer")
    site = urlsplit(live_server.url).netloc
    start = f"{live_server.url}/"
    linked_from = {start: "the login redirect"}
    to_visit = deque([start])
    broken = []

    while to_visit:
        url = to_visit.popleft()
        response = page.request.get(url, max_redirects=0)
        if response.status != 200:
            broken.append(f"{url} answers {response.status} (linked from {linked_from[url]})")
            continue
        # Downloads (the CSV and zip exports) have no links, and a page opens them as a download.
        if urlsplit(url).query or "text/html" not in response.headers.get("content-type", ""):
            continue
        page.goto(url)
        for link in same_site_links(page, site):
            if link not in linked_from:
                linked_from[link] = url
                to_visit.append(link)

    assert len(linked_from) > 50, f"the crawl reached only {len(linked_from)} links"
    assert not broken, "\n".join(broken)
