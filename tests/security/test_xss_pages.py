"""XSS payloads written into every user-editable text render inert on every page that shows them.

tests/export/test_markdown.py checks the renderer in isolation; this module checks the pages a
browser gets: each payload is stored through the same paths a real user has (the finding services
and the admin's change form), every page that shows the field is fetched, and its HTML is parsed and
judged structurally, so a payload that survives in any template, table cell, audit entry or
exported document preview fails here.
"""

import html
import re
from html.parser import HTMLParser

import markdown
import pytest
from django.utils import timezone

from findings.models import ChecklistItem, Finding, Phase, Signoff
from findings.services.audit import ActionContext
from findings.services.checklist import checklist_item_save
from findings.services.findings import finding_update
from tests.admin_forms import form_data

# Each payload is at most 150 characters, so a marker and the payload fit into a title.
XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "</textarea></label><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<p onclick="alert(1)">click me</p>',
    '<iframe src="https://evil.example/"></iframe>',
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<p style="background:url(javascript:alert(1))">styled</p>',
    "[click](javascript:alert(1))",
    "[ref]: javascript:alert(1)\n\n[click][ref]",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="jav&#x09;ascript:alert(1)">click</a>',
    "[click](&#106;avascript&#58;alert(1))",
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(1)">click</a>',
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="data:text/html,<script>alert(1)</script>">click</a>',
    "![pic](javascript:alert(1))",
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">x</button></form>',
    "```\n</code></pre><script>alert(1)</script>\n```",
    "```sql\n</code></pre><img src=x onerror=alert(1)>\n```",
    "    </code></pre><script>alert(1)</script>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<div hx-get="/admin/" hx-trigger="load" hx-on:htmx:load="alert(1)">x</div>',
    '<base href="javascript:/"><meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
]

MARK = "xss-marker-"
FINDING_PAGE = "/findings/SI-001/"
DOCUMENT_PAGE = "/documents/SI-001_TACTICAL_PLAN.md/"
MARKDOWN_AND_CODE_FIELDS = [
    "problem_statement",
    "root_cause",
    "impact",
    "integration_points",
    "migration_sql",
    "go_implementation",
    "database_tests",
    "success_functional",
    "success_performance",
    "success_security",
    "success_integration",
    "rollback_sql",
]
# Where each text shows. assert_inert also checks the text is on the page, so a test cannot pass
# because a page stopped showing the field.
PAGES_SHOWING = {
    **{name: [FINDING_PAGE, DOCUMENT_PAGE] for name in MARKDOWN_AND_CODE_FIELDS},
    "title": [FINDING_PAGE, "/findings/", "/", "/phases/2A/", "/audit/", DOCUMENT_PAGE],
    "checklist_item": [FINDING_PAGE, "/phases/2A/", "/audit/", DOCUMENT_PAGE],
    "signoff_comment": ["/phases/2A/"],
    "revoke_reason": ["/phases/2A/"],
}
# Pages that show no user text of these kinds, still checked once per test with the text stored.
OTHER_PAGES = ["/documents/", "/documents/README.md/", "/audit/"]

APP_SCRIPTS = {
    "/static/django_htmx/htmx-2.min.js",
    "/static/js/signing-bar.js",
    "/static/js/keep-focus.js",
    "/static/js/content-editor.js",
}
APP_STYLESHEETS = {"/static/css/app.css", "/static/css/pygments.css"}
APP_META_NAMES = {"viewport", "color-scheme", "htmx-config"}
ADMIN_META_NAMES = {"robots"}
# The htmx attributes the app's templates use; any other (hx-on:*, hx-vals with js:) is not ours.
APP_HTMX_ATTRIBUTES = {
    "hx-get",
    "hx-post",
    "hx-target",
    "hx-swap",
    "hx-swap-oob",
    "hx-trigger",
    "hx-push-url",
    "hx-sync",
    "hx-boost",
    "hx-headers",
    "hx-disabled-elt",
}
NEVER_ON_APP_PAGES = {
    "iframe", "frame", "frameset", "object", "embed", "applet", "base", "img", "math",
    "style", "audio", "video", "source", "template", "portal",
}  # fmt: skip
# The app draws its pictures (findings.graphs, findings.burndown) as inline <svg
# class="chart-picture">, of shapes, text and links only; these SVG elements run, fetch or embed.
SVG_ACTIVE = {
    "foreignobject", "animate", "animatemotion", "animatetransform", "set", "use", "handler",
    "discard", "feimage",
}  # fmt: skip
NEVER_ANYWHERE = {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal"}
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "livescript:", "data:")
RAW_TEXT_ELEMENTS = {"noscript", "noembed", "noframes", "xmp", "iframe"}


def _compact(value: str) -> str:
    # Browsers ignore ASCII whitespace and control characters inside a URL's scheme. HTMLParser has
    # decoded entities once already; decoding again only makes the check stricter.
    return re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(value)).lower()


class PageScan(HTMLParser):
    """Everything on a page that could run script or restyle it, judged element by element.

    `admin` pages are Django's own: their scripts, images, icons and stylesheets come from
    /static/admin/ (and the admin's /admin/jsi18n/); the rules on attributes are the same.
    """

    def __init__(self, *, admin: bool = False):
        super().__init__(convert_charrefs=True)
        self.admin = admin
        self.problems: list[str] = []
        self.scripts: list[str | None] = []
        self.htmx_configs = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self._judge_element(tag, attributes)
        for name, value in attrs:
            self._judge_attribute(tag, name, value or "")
        if tag in RAW_TEXT_ELEMENTS:
            # A browser with scripting on reads these as raw text up to their end tag, where
            # HTMLParser would read markup: `<noscript><p title="</noscript><img onerror>">`.
            self.set_cdata_mode(tag)

    def handle_data(self, data):
        self.text.append(data)

    def _judge_element(self, tag: str, attributes: dict) -> None:
        forbidden = NEVER_ANYWHERE if self.admin else NEVER_ON_APP_PAGES
        if tag in forbidden:
            self.problems.append(f"<{tag}> {attributes}")
        elif tag == "svg" or tag in SVG_ACTIVE:
            # Django's admin draws its theme icons with <svg><use>; only app pages are judged.
            if not self.admin and (
                tag in SVG_ACTIVE or "chart-picture" not in (attributes.get("class") or "").split()
            ):
                self.problems.append(f"<{tag}> not one of the app's pictures: {attributes}")
        elif tag == "script":
            src = attributes.get("src")
            self.scripts.append(src)
            if not self._is_own(src, APP_SCRIPTS, ("/static/admin/js/", "/admin/jsi18n/")):
                self.problems.append(f"<script> not the app's own: {attributes}")
        elif tag == "link":
            if not self._is_own(attributes.get("href"), APP_STYLESHEETS, ("/static/admin/css/",)):
                self.problems.append(f"<link> not the app's own: {attributes}")
        elif tag == "img" and not self._is_own(attributes.get("src"), set(), ("/static/admin/",)):
            self.problems.append(f"<img> not the admin's own: {attributes}")
        elif tag == "meta":
            self._judge_meta(attributes)

    def _is_own(self, url: str | None, exact: set[str], admin_prefixes: tuple[str, ...]) -> bool:
        if url in exact:
            return True
        return self.admin and url is not None and url.startswith(admin_prefixes)

    def _judge_meta(self, attributes: dict) -> None:
        name = attributes.get("name")
        known = APP_META_NAMES | ADMIN_META_NAMES if self.admin else APP_META_NAMES
        if "http-equiv" in attributes:
            self.problems.append(f"<meta http-equiv> {attributes}")
        elif name == "htmx-config":
            self.htmx_configs += 1
        elif name is not None and name not in known:
            self.problems.append(f"<meta> not the app's own: {attributes}")

    def _judge_attribute(self, tag: str, name: str, value: str) -> None:
        if name.startswith("on"):
            self.problems.append(f"<{tag} {name}={value!r}>: an event handler")
        elif name == "style":
            # The app's templates use no style attribute at all, so any one came from user text.
            self.problems.append(f"<{tag} style={value!r}>")
        elif name.removeprefix("data-").startswith("hx-"):
            self._judge_htmx_attribute(tag, name, value)
        if _compact(value).startswith(DANGEROUS_SCHEMES):
            self.problems.append(f"<{tag} {name}={value!r}>: a script or data URL")

    def _judge_htmx_attribute(self, tag: str, name: str, value: str) -> None:
        if name not in APP_HTMX_ATTRIBUTES:
            self.problems.append(f"<{tag} {name}={value!r}>: not an htmx attribute the app uses")
        elif name == "hx-trigger" and re.search(r"\b(load|revealed|intersect|every)\b", value):
            self.problems.append(f"<{tag} hx-trigger={value!r}>: fires without the user")
        elif name in ("hx-get", "hx-post") and not re.match(r"^/(?!admin)", value):
            self.problems.append(f"<{tag} {name}={value!r}>: not an app endpoint")

    def finish(self) -> "PageScan":
        self.close()
        if not self.admin:
            if sorted(filter(None, self.scripts)) != sorted(APP_SCRIPTS) or None in self.scripts:
                self.problems.append(f"scripts {self.scripts}, expected only {APP_SCRIPTS}")
            if self.htmx_configs != 1:
                self.problems.append(f"{self.htmx_configs} htmx-config <meta> elements")
        return self

    @property
    def visible_text(self) -> str:
        return "".join(self.text)


# The app's page skeleton: its scripts and its htmx configuration, as base.html has them.
BARE_PAGE = (
    '<!doctype html><html><head><meta charset="utf-8">'
    '<meta name="htmx-config" content="{}">'
    + "".join(f'<script src="{src}" defer></script>' for src in sorted(APP_SCRIPTS))
    + "</head>"
    "<body><main></main></body></html>"
)


def scan(content: str, *, admin: bool = False) -> PageScan:
    parser = PageScan(admin=admin)
    parser.feed(content)
    return parser.finish()


def marker(label: str, index: int) -> str:
    return f"{MARK}{label}-{index}"


def stored_value(label: str, index: int, payload: str) -> str:
    """The payload between two markers, as paragraphs, so fenced and indented blocks stay blocks."""
    return f"{marker(label, index)}\n\n{payload}\n\n{marker(label, index)}-end"


def stored_line(label: str, index: int, payload: str) -> str:
    """The payload after a marker on one line, as a text input (title, item) holds it."""
    return f"{marker(label, index)} {payload}".replace("\n", " ")


def assert_inert(client, url: str, markers: list[str], payload: str, *, admin=False) -> None:
    response = client.get(url)
    assert response.status_code == 200, (url, payload)
    page = scan(response.content.decode(), admin=admin)
    assert page.problems == [], f"{url} with {payload!r}: {page.problems}"
    for expected in markers:
        assert expected in page.visible_text, f"{url} does not show {expected} with {payload!r}"


@pytest.fixture
def admin_context(admin_user) -> ActionContext:
    return ActionContext(actor=admin_user, request_id="xss-test")


@pytest.fixture
def si_001(catalogue) -> Finding:
    return Finding.objects.get(code="SI-001")


def si_001_item() -> ChecklistItem:
    return ChecklistItem.objects.get(finding__code="SI-001", position=1)


# The scanner itself: each kind of problem it looks for is reported, so a pass means something.


@pytest.mark.parametrize(
    "snippet",
    [
        "<script>alert(1)</script>",
        '<script src="/static/other.js"></script>',
        "<img src=x onerror=alert(1)>",
        "<p onclick=alert(1)>x</p>",
        '<a href=" JaVa&#x09;Script:alert(1)">x</a>',
        '<a href="&#106;avascript:alert(1)">x</a>',
        '<a href="data:text/html,x">x</a>',
        '<form action="vbscript:x"></form>',
        "<iframe src=https://evil.example/></iframe>",
        "<object data=x></object>",
        "<embed src=x>",
        "<svg><circle r=1 /></svg>",
        '<svg class="chart-picture"><foreignObject><p>x</p></foreignObject></svg>',
        '<svg class="chart-picture"><set attributeName="href" to="javascript:alert(1)"/></svg>',
        '<svg class="chart-picture" onload="alert(1)"></svg>',
        '<p style="color:red">x</p>',
        '<div hx-on:click="alert(1)">x</div>',
        '<div hx-get="/findings/" hx-trigger="load">x</div>',
        '<div data-hx-get="/admin/">x</div>',
        '<meta http-equiv="refresh" content="0;url=/">',
        '<link rel="stylesheet" href="https://evil.example/x.css">',
        '<meta name="htmx-config" content="{}">',
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    ],
)
def test_it_reports_each_kind_of_active_content_it_looks_for(snippet):
    assert scan(BARE_PAGE).problems == []

    assert scan(BARE_PAGE.replace("</main>", f"{snippet}</main>")).problems != []


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_every_payload_is_active_content_when_rendered_without_sanitising(payload):
    # Plain python-markdown keeps raw HTML and builds any link: the payloads are real attacks.
    rendered = markdown.markdown(payload, extensions=["fenced_code"])
    if "</code></pre>" in payload:
        # A code block escapes its content; these payloads attack renderers that forget to.
        rendered = payload.replace("```sql", "").replace("```", "").replace("    ", "")

    assert scan(BARE_PAGE.replace("</main>", f"{rendered}</main>")).problems != [], rendered


@pytest.mark.parametrize(
    "url",
    [FINDING_PAGE, "/findings/", "/", "/phases/2A/", "/audit/", "/documents/", DOCUMENT_PAGE],
)
def test_the_app_pages_pass_as_they_are(admin_client, catalogue, url):
    response = admin_client.get(url)

    assert response.status_code == 200
    assert scan(response.content.decode()).problems == []


# Payloads stored through the services.


@pytest.mark.parametrize("field", MARKDOWN_AND_CODE_FIELDS)
def test_it_renders_payloads_in_a_text_section_inert(admin_client, si_001, admin_context, field):
    for index, payload in enumerate(XSS_PAYLOADS):
        finding = Finding.objects.get(pk=si_001.pk)
        setattr(finding, field, stored_value(field, index, payload))
        finding_update(finding=finding, context=admin_context)

        for url in PAGES_SHOWING[field]:
            assert_inert(admin_client, url, [marker(field, index)], payload)
    for url in OTHER_PAGES:
        assert scan(admin_client.get(url).content.decode()).problems == []


def test_it_renders_payloads_in_the_title_inert(admin_client, si_001, admin_context):
    for index, payload in enumerate(XSS_PAYLOADS):
        finding = Finding.objects.get(pk=si_001.pk)
        # A title is one line (its validation refuses line breaks): a payload's breaks become
        # spaces. tests/export/test_export_escaping.py stores titles with line breaks behind its
        # back.
        finding.title = f"{marker('title', index)} {' '.join(payload.split())}"
        finding_update(finding=finding, context=admin_context)

        for url in PAGES_SHOWING["title"]:
            assert_inert(admin_client, url, [marker("title", index)], payload)
    for url in OTHER_PAGES:
        assert scan(admin_client.get(url).content.decode()).problems == []


def test_it_renders_payloads_in_a_checklist_item_inert(admin_client, si_001, admin_context):
    for index, payload in enumerate(XSS_PAYLOADS):
        item = si_001_item()
        item.text = f"{marker('item', index)} {payload}"
        checklist_item_save(item=item, context=admin_context)

        for url in PAGES_SHOWING["checklist_item"]:
            assert_inert(admin_client, url, [marker("item", index)], payload)


def test_it_renders_payloads_in_a_signoff_comment_inert(
    page_cache_off, admin_client, catalogue, lead
):
    # Signing needs a ready phase; the row alone is enough to test how the page shows it. Written
    # without an audit event, each payload needs the page rendered afresh (page_cache_off).
    signoff = Signoff.objects.create(
        phase=Phase.objects.get(code="2A"), signed_by=lead, signed_at=timezone.now()
    )
    for index, payload in enumerate(XSS_PAYLOADS):
        comment = stored_value("comment", index, payload)
        Signoff.objects.filter(pk=signoff.pk).update(comment=comment)

        assert_inert(admin_client, "/phases/2A/", [marker("comment", index)], payload)


def test_it_renders_payloads_in_a_revocation_reason_inert(
    page_cache_off, admin_client, catalogue, lead
):
    signoff = Signoff.objects.create(
        phase=Phase.objects.get(code="2A"),
        signed_by=lead,
        signed_at=timezone.now(),
        revoked_by=lead,
        revoked_at=timezone.now(),
        revoke_reason="placeholder",
    )
    for index, payload in enumerate(XSS_PAYLOADS):
        reason = stored_value("reason", index, payload)
        Signoff.objects.filter(pk=signoff.pk).update(revoke_reason=reason)

        assert_inert(admin_client, "/phases/2A/", [marker("reason", index)], payload)


# Payloads typed into the admin's change form, as an administrator would.

ADMIN_TEXTAREAS = ["problem_statement", "migration_sql"]


def test_it_renders_payloads_typed_into_the_admin_form_inert(admin_client, si_001):
    change_page = f"/admin/findings/finding/{si_001.pk}/change/"
    item = si_001_item()
    inline = [i.pk for i in si_001.checklist_items.order_by("position")].index(item.pk)
    form = form_data(admin_client.get(change_page).content.decode())
    for index, payload in enumerate(XSS_PAYLOADS):
        typed = {
            # A browser submits a textarea's line breaks as CRLF, and drops them from an input.
            **{name: stored_value(name, index, payload).replace("\n", "\r\n")
               for name in ADMIN_TEXTAREAS},
            "title": stored_line("title", index, payload),
            f"checklist_items-{inline}-text": stored_line("item", index, payload),
        }  # fmt: skip

        response = admin_client.post(change_page, {**form, **typed, "_save": "Save"})

        assert response.status_code == 302, response.context["adminform"].form.errors
        finding = Finding.objects.get(pk=si_001.pk)
        assert finding.problem_statement == stored_value("problem_statement", index, payload)
        assert finding.title == stored_line("title", index, payload).strip()
        assert si_001_item().text == stored_line("item", index, payload).strip()
        markers = [marker(label, index) for label in [*ADMIN_TEXTAREAS, "title", "item"]]
        assert_inert(admin_client, FINDING_PAGE, markers, payload)
        assert_inert(admin_client, change_page, markers, payload, admin=True)
        assert_inert(admin_client, "/admin/findings/finding/", markers[2:3], payload, admin=True)
