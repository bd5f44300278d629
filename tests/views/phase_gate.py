"""What the tests of the phase page and its signoff forms share: one page, one gate fragment."""

import re

from findings.models import AuditEvent, ChecklistItem

COMMENT = "Ran every 2A migration & its rollback on a copy of production."
REASON = "The SI-001 migration locks the accounts table for minutes."
SIGN_LINK = 'href="/phases/2A/signoff/"'
SIGN_FORM = 'action="/phases/2A/signoff/"'
REVOKE_FORM = 'action="/phases/2A/signoff/revoke/"'
OWNER_REASON = "You own SI-001 in this phase; someone else must sign it off."
TICKER_REASON = (
    "Items of SI-002 in this phase stand ticked by you; with strict separation of duties"
)
HTMX = {"HTTP_HX_REQUEST": "true"}
SIGNOFF_ACTIONS = ["phase.signed_off", "phase.signoff_refused", "phase.signoff_revoked"]


def item_of(code: str, position: int) -> ChecklistItem:
    return ChecklistItem.objects.get(finding__code=code, position=position)


def page(client, user, url: str = "/phases/2A/") -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def gate_of(html: str) -> str:
    return html[html.index('<section id="phase-gate"') :]


def fingerprint_shown(html: str) -> str:
    """The fingerprint a confirmation's form would post back."""
    return re.search(r'name="fingerprint" value="([0-9a-f]{64})"', html).group(1)


def signoff_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__in=SIGNOFF_ACTIONS).order_by("id"))
