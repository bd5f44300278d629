"""Template filters for user-written text, and the time tag: ``{% load findings_extras %}``.

Both filters return the SafeString that findings.markdown builds after sanitising; they never mark
anything safe themselves, hence ``is_safe=False``.
"""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from findings.markdown import render_code, render_inline_markdown, render_markdown
from findings.services.status import BACKWARD

register = template.Library()


def _as_text(value) -> str:
    # A nullable field gives None, which should render as nothing rather than the word "None".
    return "" if value is None else str(value)


@register.filter(name="markdown", is_safe=False)
def markdown_filter(value) -> SafeString:
    """``{{ finding.notes|markdown }}``: Markdown rendered and sanitised."""
    return render_markdown(_as_text(value))


@register.filter(name="inline_markdown", is_safe=False)
def inline_markdown_filter(value) -> SafeString:
    """``{{ item.text|inline_markdown }}``: a label's inline Markdown (code, emphasis) only."""
    return render_inline_markdown(_as_text(value))


@register.filter(name="highlight", is_safe=False)
def highlight_filter(value, language: str) -> SafeString:
    """``{{ finding.query|highlight:"sql" }}``: plain code (``"sql"`` or ``"go"``) highlighted."""
    return render_code(_as_text(value), language)


@register.simple_tag
def time_element(moment: datetime | None, precision: str = "minutes") -> SafeString:
    """``{% time_element event.created_at "seconds" %}``: a <time> element in the site's zone.

    The pages show up to a hundred times at once, and strftime costs a fraction of the date
    filter's general formatter.
    """
    if moment is None:
        return SafeString("")
    local = timezone.localtime(moment)
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if precision == "seconds" else "%Y-%m-%d %H:%M")
    return format_html('<time datetime="{}">{}</time>', local.isoformat(), shown)


@register.filter
def is_backward_move(status: str, target: str) -> bool:
    """``{% if finding.status|is_backward_move:target %}``: the move undoes a step of the work."""
    return BACKWARD.get(status) == target
