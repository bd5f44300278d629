"""The finding page's status panel: a backward move looks secondary to the forward one."""

import re

from findings.models import Finding, Status

BUTTON = re.compile(r'<button type="submit"(?P<attrs>[^>]*)>Move to (?P<target>[a-z ]+)</button>')


def move_buttons(html: str) -> dict[str, str]:
    return {match["target"]: match["attrs"] for match in BUTTON.finditer(html)}


def test_it_draws_the_backward_move_as_a_secondary_button(client, reviewer, catalogue):
    Finding.objects.filter(code="SI-001").update(status=Status.IN_PROGRESS)
    client.force_login(reviewer)

    buttons = move_buttons(client.get("/findings/SI-001/").content.decode())

    assert set(buttons) == {"in review", "planned"}
    assert 'class="secondary"' in buttons["planned"]
    assert 'class="secondary"' not in buttons["in review"]
