"""The finding page's written sections with their Edit controls: ``{% load content_editing %}``."""

from django import template

from findings.services.content import (
    CONTENT_FIELDS,
    EDIT_CONTENT,
    content_text,
    finding_content_fields,
)

register = template.Library()


@register.inclusion_tag("findings/content_edit.html#content-section", takes_context=True)
def content_section(context, field: str) -> dict:
    """``{% content_section "root_cause" %}``: the page's `finding`'s section, with an Edit
    control when the user may write it. The user's permissions are already cached by the page.
    """
    finding = context["finding"]
    spec = CONTENT_FIELDS[field]
    return {
        "finding": finding,
        "spec": spec,
        "text": content_text(finding, field),
        "can_edit": context["user"].has_perm(EDIT_CONTENT)
        and spec in finding_content_fields(finding),
    }


@register.simple_tag(takes_context=True)
def can_edit_content(context, field: str) -> bool:
    """``{% can_edit_content "effort" as editable %}``: whether the Edit link for a header fact
    shows."""
    finding = context["finding"]
    return context["user"].has_perm(EDIT_CONTENT) and CONTENT_FIELDS[field] in (
        finding_content_fields(finding)
    )
