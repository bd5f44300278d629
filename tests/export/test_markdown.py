"""render_markdown, render_code and their template filters: user text never becomes live markup.

The allow-list is restated here rather than imported, so widening it in findings.markdown is a
decision that has to change this file too.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template import engines
from django.utils.safestring import SafeString
from hypothesis import given, settings
from hypothesis import strategies as st
from pygments.token import STANDARD_TYPES

from findings.markdown import render_code, render_markdown

pytestmark = pytest.mark.db_independent

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote",
    "span", "div",
    "table", "thead", "tbody", "tr", "th", "td",
    "a",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "rel"},
    "span": {"class"},
    "div": {"class"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
ALLOWED_CLASSES = {
    "div": {"highlight"},
    "span": {name for name in STANDARD_TYPES.values() if name} | {"hll"},
}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "[x](vbscript:msgbox(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<iframe src="https://evil.example/"></iframe>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p onclick="alert(1)">click me</p>',
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript&#58;alert(1))",
    "[x](javascript&colon;alert(1))",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "![x](javascript:alert(1))",
    '![x](https://evil.example/pixel.png "tracker")',
    '<a href="https://example.com" target="_blank" onmouseover="alert(1)">x</a>',
    "```\n</code></pre><script>alert(1)</script>\n```",
    "```sql\n</code></pre><img src=x onerror=alert(1)>\n```",
    "```{ .sql noclasses=true }\nSELECT 1;\n```",
    "<style>body { background: url(javascript:alert(1)) }</style>",
    "<!-- <script>alert(1)</script> -->",
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">x</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:/">',
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>x</details>",
    '<p class="message error">Your session expired</p>',
    "`<script>alert(1)</script>`",
    "> <img src=x onerror=alert(1)>\n\n- <svg onload=alert(1)>",
    "| a |\n|---|\n| <script>x</script> |",
]


class _Markup(HTMLParser):
    """Every element and attribute in a fragment, with entity-decoded values, plus its text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_endtag(self, tag):
        self.elements.append((tag, []))

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.elements.append(("!--", []))

    def handle_decl(self, decl):
        self.elements.append(("!", []))

    def handle_pi(self, data):
        self.elements.append(("?", []))


def _parse(html: str) -> _Markup:
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser


def _scheme(url: str) -> str | None:
    # Browsers skip ASCII whitespace and control characters inside a scheme; so does this check.
    compact = re.sub(r"[\x00-\x20\x7f]", "", url).lower()
    match = re.match(r"([a-z][a-z0-9+.\-]*):", compact)
    return match.group(1) if match else None


def assert_only_allowed_markup(html: str) -> None:
    for tag, attrs in _parse(html).elements:
        assert tag in ALLOWED_TAGS, f"<{tag}> is not on the allow-list in {html!r}"
        for name, value in attrs:
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()), f"{tag}[{name}] in {html!r}"
            if name == "class":
                unknown = set((value or "").split()) - ALLOWED_CLASSES[tag]
                assert not unknown, f"{tag} classes {unknown} in {html!r}"
            if name == "href":
                assert _scheme(value or "") in ALLOWED_SCHEMES | {None}, f"href {value!r}"
            if name == "rel":
                assert value == LINK_REL


def _markup_only(html: str) -> str:
    """The tags and attributes of a fragment as one string, without its text content."""
    return " ".join(
        f"<{tag} " + " ".join(f'{name}="{value}"' for name, value in attrs) + ">"
        for tag, attrs in _parse(html).elements
    )


def assert_nothing_executable(markup: str) -> None:
    lowered = markup.lower()
    assert "<script" not in lowered
    assert "<iframe" not in lowered
    assert "javascript:" not in lowered
    assert "style=" not in lowered
    assert not re.search(r"\bon\w+\s*=", lowered), markup


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_it_renders_markdown_payloads_without_anything_executable(payload):
    html = render_markdown(payload)

    assert isinstance(html, SafeString)
    assert_nothing_executable(html)
    assert_nothing_executable(_markup_only(html))
    assert_only_allowed_markup(html)


@pytest.mark.parametrize("language", ["sql", "go"])
@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_it_renders_code_payloads_as_inert_text(payload, language):
    html = render_code(payload, language)

    # The code is shown verbatim, so "onerror=" may be in the text; it must not be in the markup.
    assert "<script" not in html.lower()
    assert "<iframe" not in html.lower()
    assert_nothing_executable(_markup_only(html))
    assert_only_allowed_markup(html)
    assert "".join(_parse(html).text).strip() == payload.strip()


def test_it_renders_headings():
    html = render_markdown("# Finding 2A-07\n\n## Evidence\n\n###### Footnote")

    assert "<h1>Finding 2A-07</h1>" in html
    assert "<h2>Evidence</h2>" in html
    assert "<h6>Footnote</h6>" in html


def test_it_renders_lists_and_keeps_their_numbering():
    html = render_markdown("- one\n- two\n\n3. third\n4. fourth")

    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert '<ol start="3">\n<li>third</li>\n<li>fourth</li>\n</ol>' in html


def test_it_renders_emphasis_quotes_code_and_rules():
    html = render_markdown("**bold** *it* `code`\n\n> quoted\n\n---")

    assert "<strong>bold</strong> <em>it</em> <code>code</code>" in html
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in html
    assert "<hr>" in html


def test_it_renders_tables_with_align_attributes_not_styles():
    html = render_markdown("| Check | Count |\n|:------|------:|\n| orphans | 3 |")

    assert "<table>" in html
    assert '<th align="left">Check</th>' in html
    assert '<td align="right">3</td>' in html
    assert "style" not in html


def test_it_adds_rel_to_links():
    html = render_markdown('[docs](https://example.com/a?b=1 "Docs") and <https://example.org>')

    assert (
        '<a href="https://example.com/a?b=1" title="Docs" rel="noopener noreferrer nofollow">'
        "docs</a>"
    ) in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">' in html


def test_it_keeps_mailto_and_relative_links():
    html = render_markdown("[mail](mailto:audit@example.com) [finding](/findings/12/)")

    assert 'href="mailto:audit@example.com"' in html
    assert 'href="/findings/12/"' in html


def test_it_drops_links_with_other_schemes_but_keeps_their_text():
    html = render_markdown("[click](javascript:alert(1)) [file](file:///etc/passwd)")

    assert "href" not in html
    assert "click" in html
    assert "file" in html


def test_it_drops_images():
    assert render_markdown("![diagram](https://example.com/a.png)") == "<p></p>"


def test_it_drops_classes_that_pygments_does_not_emit():
    html = render_markdown(
        '<div class="card highlight">x</div>\n\n<span class="k skip-link">y</span>'
    )

    assert '<div class="highlight">' in html
    assert '<span class="k">' in html


def test_it_highlights_a_sql_fence():
    html = render_markdown("Query:\n\n```sql\nSELECT count(*) FROM findings;\n```")

    assert '<div class="highlight"><pre>' in html
    assert '<span class="k">SELECT</span>' in html


def test_it_highlights_a_go_fence():
    html = render_markdown("```go\npackage main\n\nfunc main() {}\n```")

    assert 'class="highlight"' in html
    assert '<span class="kn">package</span>' in html
    assert '<span class="kd">func</span>' in html


def test_it_does_not_guess_the_language_of_an_unlabelled_fence():
    html = render_markdown("```\nSELECT 1;\n```")

    assert 'class="highlight"' in html
    assert "<span class=" not in html.replace("<span></span>", "")


def test_it_marks_highlighted_lines():
    html = render_markdown('```sql hl_lines="2"\nSELECT 1;\nSELECT 2;\n```')

    assert html.count('<span class="hll">') == 1


@pytest.mark.parametrize(
    "options",
    [
        "pygments_style=nope",
        "tabsize=x",
        "linenums=true linenostart=x",
        "encoding=rot13",
        "noclasses=true",
        "linenums=true lineanchors=x anchorlinenos=true",
        "use_pygments=false",
        "#id .extra",
    ],
)
def test_it_ignores_options_on_a_fence(options):
    html = render_markdown(f"```{{ .sql {options} }}\nSELECT 1;\n```")

    assert html.startswith('<div class="highlight"><pre><span></span><code>')
    assert '<span class="k">SELECT</span>' in html
    assert_only_allowed_markup(html)


@pytest.mark.parametrize("text", ["", "   ", "\n\t\n"])
def test_it_renders_blank_text_as_an_empty_safe_string(text):
    assert render_markdown(text) == ""
    assert isinstance(render_markdown(text), SafeString)
    assert render_code(text, "sql") == ""
    assert isinstance(render_code(text, "sql"), SafeString)


def test_it_highlights_sql_code():
    html = render_code("SELECT 1;", "sql")

    assert isinstance(html, SafeString)
    assert html.startswith('<div class="highlight"><pre><span></span><code>')
    assert '<span class="k">SELECT</span>' in html


def test_it_highlights_sql_code_as_postgresql():
    html = render_code("SELECT $$dollar quoted$$::text;", "sql")

    assert '<span class="s">$$dollar quoted$$</span>' in html
    assert 'class="err"' not in html


def test_it_highlights_go_code():
    html = render_code('func main() {\n\tfmt.Println("hi")\n}', "Go")

    assert '<span class="kd">func</span>' in html
    assert '<span class="s">"hi"</span>' in html


def test_it_shows_markdown_fences_in_code_as_text():
    html = render_code("```sql\nSELECT 1;\n```", "sql")

    assert "".join(_parse(html).text).startswith("```sql\n")


def test_it_refuses_a_language_it_cannot_highlight():
    with pytest.raises(ValueError, match="'python'"):
        render_code("print(1)", "python")


def _render(template: str, **context) -> str:
    return engines["django"].from_string("{% load findings_extras %}" + template).render(context)


def test_it_renders_the_markdown_filter_without_escaping_it_twice():
    html = _render("{{ notes|markdown }}", notes="**a** & <script>alert(1)</script>")

    assert html == "<p><strong>a</strong> &amp; </p>"


def test_it_renders_the_highlight_filter():
    html = _render('{{ query|highlight:"sql" }}', query="SELECT '<b>';")

    assert '<span class="k">SELECT</span>' in html
    assert "&lt;b&gt;" in html


def test_it_renders_none_as_nothing_in_both_filters():
    assert _render('[{{ v|markdown }}][{{ v|highlight:"go" }}]', v=None) == "[][]"


def test_it_sanitises_even_text_already_marked_safe():
    html = _render("{{ v|markdown }}", v=SafeString("<script>x</script>ok"))

    assert html.strip() == "<p>ok</p>"


def test_it_keeps_mark_safe_in_one_place():
    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for folder in ("findings", "domainflow")
        for path in (root / folder).rglob("*.py")
        if "mark_safe(" in path.read_text() and path != root / "findings" / "markdown.py"
    ]
    offenders += [
        str(path.relative_to(root))
        for path in (root / "templates").rglob("*.html")
        if re.search(r"\|\s*safe\b|autoescape\s+off", path.read_text())
    ]

    assert offenders == []


_MARKDOWNISH = st.sampled_from(
    [
        "<", ">", "&", '"', "'", "`", "```", "```sql\n", "\n```\n", "~~~", "\n", "\n\n", "    ",
        "[", "](", ")", "![", "*", "_", "#", "-", "1.", "|", "|---|", ":", "javascript:", "on",
        "=", "<script>", "</code>", "<img src=x onerror=alert(1)>", "<a href=", "&#106;",
        "{ .sql ", "}", "<!--", "-->", "<style>", "<svg", "<math>", "\x00", "\u202e",
    ]
)  # fmt: skip


@settings(deadline=None)
@given(st.text())
def test_it_renders_any_text_to_allowed_markup(text):
    assert_only_allowed_markup(render_markdown(text))


@settings(deadline=None)
@given(st.lists(st.one_of(_MARKDOWNISH, st.text(max_size=5)), max_size=40).map("".join))
def test_it_renders_any_markdownish_text_to_allowed_markup(text):
    html = render_markdown(text)

    assert_only_allowed_markup(html)
    assert_nothing_executable(_markup_only(html))
