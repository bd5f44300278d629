"""Database text made inert where the export embeds it in markdown or in the mermaid graph.

The models refuse line breaks in one-line fields, but rows can be written behind their back
(raw SQL, QuerySet.update), so the export escapes whatever is stored: a title can neither start
a new line, nor open markup, nor end the label or link it sits in.
"""

import re
from urllib.parse import quote

from findings.models import LINE_BREAKING_CHARACTER

# Markdown's inline syntax, escaped with a backslash (CommonMark and python-markdown both honour
# these); `#` would close an ATX heading and `|` a table cell. An `_` inside a word starts no
# emphasis in either, so `SI-001_TACTICAL_PLAN.md` is left as it reads.
_MARKDOWN_SYNTAX = re.compile(r"[\\`*\[\]#|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# HTML, as entities: python-markdown has no backslash escape for `<` and passes raw HTML through.
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# What a quoted mermaid label may hold as it is; anything else is written as an entity code.
_MERMAID_PLAIN = re.compile(r"[A-Za-z0-9 _.,:()/-]")


def one_line(text: str | None) -> str:
    """The text on one line: every control character or line separator becomes a space."""
    return " ".join(LINE_BREAKING_CHARACTER.sub(" ", text or "").split())


def markdown_text(text: str | None) -> str:
    """One line of plain text for a markdown heading, list item, link text or table cell."""
    escaped = _MARKDOWN_SYNTAX.sub(lambda match: "\\" + match.group(), one_line(text))
    return re.sub(r"[&<>]", lambda match: _HTML_ENTITIES[match.group()], escaped)


def link_target(path: str) -> str:
    """A relative link's target, percent-encoded so no name can end the link or add a title."""
    return quote(path, safe="/")


def mermaid_label(text: str | None) -> str:
    """Text for a `["..."]` label: mermaid's entity codes for quotes, `#`, `%`, `<`, `;` etc."""
    return "".join(
        character if _MERMAID_PLAIN.fullmatch(character) else _mermaid_entity(character)
        for character in one_line(text)
    )


def mermaid_node(code: str) -> str:
    """A finding code as a mermaid node id: letters, digits and underscores only."""
    node = re.sub(r"[^A-Za-z0-9]", "_", code)
    # Mermaid's keywords (end, click, style, ...) hold no digit, and a finding code always does;
    # a code stored behind the validation's back gets a prefix instead.
    return node if re.search(r"[0-9]", node) else f"finding_{node}"


def _mermaid_entity(character: str) -> str:
    return "#quot;" if character == '"' else f"#{ord(character)};"
