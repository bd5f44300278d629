"""Markdown and code rendering for user-written text: the one place that marks HTML safe.

Everything a user types (finding notes, evidence, remediation text) goes through here before it
reaches a template. We render first and sanitise second because python-markdown passes raw HTML
through untouched and builds links from any URL it is given (``[x](javascript:...)``): only the
finished HTML shows what the browser will actually see, so that is what the allow-list must judge.
Sanitising the input instead would miss markup that the renderer itself produces, and escaping it
would break legitimate Markdown such as ``<``, ``&`` and autolinks.

The sanitiser is nh3 (ammonia) with an explicit allow-list of tags, attributes, CSS classes and URL
schemes; anything not listed is removed, ``<script>`` and ``<style>`` together with their content.
Pygments' own output passes through the same sanitiser, so highlighting never widens what a user
can put on the page.
"""

from collections.abc import Callable

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions import Extension
from markdown.extensions.codehilite import CodeHiliteExtension
from markdown.extensions.fenced_code import FencedBlockPreprocessor, FencedCodeExtension
from markdown.treeprocessors import Treeprocessor
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import GoLexer, PostgresLexer
from pygments.token import STANDARD_TYPES

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
        "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote",
        "span", "div",
        "table", "thead", "tbody", "tr", "th", "td",
        "a",
    }
)  # fmt: skip

# `class` is not listed here: nh3 then checks every class name against ALLOWED_CLASSES instead.
# `ol start` keeps "3. Third" lists numbered as written (sane_lists emits it); it is an integer.
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}

# Only the class names Pygments emits, so user HTML cannot borrow the app's own classes
# (`message error`, `skip-link`) to dress itself up as part of the interface. Pygments puts no
# class on <pre> or <code>, so any class there is dropped.
_PYGMENTS_TOKEN_CLASSES = frozenset(name for name in STANDARD_TYPES.values() if name)
ALLOWED_CLASSES = {
    "div": frozenset({"highlight"}),
    "span": _PYGMENTS_TOKEN_CLASSES | {"hll"},
}

ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
    url_schemes=set(ALLOWED_URL_SCHEMES),
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)

# A checklist item's label sits inside a <label>: only inline emphasis and code belong there.
INLINE_TAGS = frozenset({"code", "em", "strong"})

_INLINE_CLEANER = nh3.Cleaner(
    tags=set(INLINE_TAGS),
    clean_content_tags={"script", "style"},
    attributes={},
    url_schemes=set(),
    strip_comments=True,
)

# The block processors an inline render removes (it keeps only paragraphs): they would turn
# "1. Run" into a list or "# 5" into a heading, whose tags the inline cleaner then drops along
# with the number or the mark.
_BLOCK_PROCESSORS_NOT_INLINE = (
    "indent", "code", "hashheader", "setextheader", "hr", "olist", "ulist", "quote", "reference",
)  # fmt: skip

_CODE_LEXERS = {"sql": PostgresLexer, "go": GoLexer}


class _FencedBlockWithoutOptions(FencedBlockPreprocessor):
    """Fenced blocks that ignore ``{ .sql key=value }`` options other than ``hl_lines``.

    python-markdown hands those options straight to Pygments as keyword arguments, so a user could
    crash every page showing their text (``pygments_style=nope`` raises ClassNotFound,
    ``tabsize=x`` raises OptionError) or switch on inline styles and line-number tables.
    """

    def handle_attrs(self, attrs):
        block_id, classes, options = super().handle_attrs(attrs)
        return block_id, classes, {k: v for k, v in options.items() if k == "hl_lines"}


class _FencedCodeExtension(FencedCodeExtension):
    def extendMarkdown(self, md):
        md.registerExtension(self)
        preprocessor = _FencedBlockWithoutOptions(md, self.getConfigs())
        md.preprocessors.register(preprocessor, "fenced_code_block", 25)


class _LinkRewriter(Treeprocessor):
    def __init__(self, md, link_target: Callable[[str], str]):
        super().__init__(md)
        self.link_target = link_target

    def run(self, root):
        for link in root.iter("a"):
            if link.get("href") is not None:
                link.set("href", self.link_target(link.get("href")))


class _LinkRewriteExtension(Extension):
    """Hands every link's target to `link_target` once the inline patterns have built them;
    the sanitiser still judges what comes back.
    """

    def __init__(self, link_target: Callable[[str], str]):
        super().__init__()
        self.link_target = link_target

    def extendMarkdown(self, md):
        # Below the inline processor (20), which turns [text](target) into <a> elements.
        md.treeprocessors.register(_LinkRewriter(md, self.link_target), "link_target", 1)


def _markdown_extensions(link_target: Callable[[str], str] | None = None):
    # Fresh instances per render: a Markdown object keeps state and is not safe to share across
    # threads.
    extensions = [
        _FencedCodeExtension(),
        CodeHiliteExtension(css_class="highlight", guess_lang=False, linenums=False),
        "tables",
        "sane_lists",
    ]
    if link_target is not None:
        extensions.append(_LinkRewriteExtension(link_target))
    return extensions


def _sanitise(html: str, cleaner: nh3.Cleaner = _CLEANER) -> SafeString:
    # The only mark_safe in the project: whatever reaches it has just been through the allow-list.
    return mark_safe(cleaner.clean(html))


def render_markdown(text: str, *, link_target: Callable[[str], str] | None = None) -> SafeString:
    """Render user-written Markdown to sanitised HTML that templates may output as is.

    Supports fenced code (highlighted by Pygments, no language guessing), tables and lists. Raw
    HTML outside the allow-list is dropped (its text kept), as are images and links whose scheme is
    not http, https or mailto; links get ``rel="noopener noreferrer nofollow"``. Blank text
    renders as an empty string. `link_target`, when given, maps each link's target as written
    to the one the page should use (a relative link of an exported file to its page here).
    """
    if not text or not text.strip():
        return _sanitise("")
    html = markdown.markdown(
        text,
        extensions=_markdown_extensions(link_target),
        extension_configs={"tables": {"use_align_attribute": True}},
        output_format="html",
    )
    return _sanitise(html)


def render_inline_markdown(text: str) -> SafeString:
    """Render a one-line label's inline Markdown: `code`, *emphasis* and **strong** only.

    Everything else shows as its text: links and raw HTML lose their tags, images vanish, and
    no paragraph, list or heading wraps the result, so it fits inside a <label> or a link.
    """
    if not text or not text.strip():
        return _sanitise("", _INLINE_CLEANER)
    md = markdown.Markdown(output_format="html")
    for name in _BLOCK_PROCESSORS_NOT_INLINE:
        md.parser.blockprocessors.deregister(name)
    return _sanitise(md.convert(text), _INLINE_CLEANER)


def render_code(code: str, language: str) -> SafeString:
    """Highlight plain source code (a stored SQL query or Go snippet) as sanitised HTML.

    ``language`` is ``"sql"`` (PostgreSQL dialect) or ``"go"``; anything else raises ValueError.
    The whole of ``code`` is treated as code: a field that holds Markdown with its own ``` fences
    belongs in render_markdown instead, or the fences will show up as literal text.
    """
    try:
        lexer_class = _CODE_LEXERS[language.lower()]
    except KeyError:
        supported = ", ".join(sorted(_CODE_LEXERS))
        raise ValueError(f"No highlighter for {language!r}; expected one of {supported}.") from None
    if not code or not code.strip():
        return _sanitise("")
    # wrapcode gives the same <div><pre><code> shape as fenced blocks, so one stylesheet fits both.
    html = highlight(code, lexer_class(), HtmlFormatter(cssclass="highlight", wrapcode=True))
    return _sanitise(html)
