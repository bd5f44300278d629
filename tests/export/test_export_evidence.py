"""A document's checklist carries each item's evidence, as the finding page shows it."""

from findings.export.documents import document_markdown
from findings.export.snapshot import snapshot_load
from findings.models import ChecklistItem
from findings.services.checklist import Evidence, checklist_item_set
from tests.helpers import context_for

FILE_NAME = "SI-001_TACTICAL_PLAN.md"


def rendered() -> str:
    snapshot = snapshot_load()
    entry = next(e for e in snapshot.documents if e.document.file_name == FILE_NAME)
    return document_markdown(entry, snapshot)


def report(user, checked: bool, evidence: Evidence) -> ChecklistItem:
    item = ChecklistItem.objects.get(finding__code="SI-001", key="go-test-race")
    return checklist_item_set(
        item_id=item.pk,
        checked=checked,
        expected_version=None,
        context=context_for(user),
        evidence=evidence,
    )


def line_of(text: str, item: ChecklistItem) -> str:
    return next(
        line
        for line in text.split("\n")
        if line.startswith(("- [x] ", "- [ ] ")) and item.text[:20] in line
    )


def test_it_shows_a_ticks_run_as_a_link_and_its_commit(catalogue, ci_bot):
    item = report(
        ci_bot,
        True,
        Evidence(url="https://ci.example/runs/812", commit="3f2c9a1b7e", summary="run #812"),
    )

    line = line_of(rendered(), item)

    assert line.startswith("- [x] ")
    assert "— ticked by ci-bot on " in line
    assert line.endswith(" UTC · [run \\#812](https://ci.example/runs/812) · commit 3f2c9a1b7e")


def test_it_shows_an_unticks_evidence(catalogue, ci_bot):
    report(ci_bot, True, Evidence(summary="run #812"))
    item = report(
        ci_bot, False, Evidence(url="https://ci.example/runs/813", summary="run #813 failed")
    )

    line = line_of(rendered(), item)

    assert line.endswith(
        " — unticked with evidence · [run \\#813 failed](https://ci.example/runs/813)"
    )


def test_it_links_no_other_scheme_and_escapes_the_text(catalogue, ci_bot):
    item = report(ci_bot, True, Evidence(commit="abc", summary="[x](javascript:alert(1))"))
    ChecklistItem.objects.filter(pk=item.pk).update(evidence_url="ftp://ci.example/(812)")

    line = line_of(rendered(), item)

    assert line.endswith(" · \\[x\\](javascript:alert(1)) · commit abc")
    assert "ftp:" not in line


def test_it_encodes_a_parenthesis_that_would_end_the_link(catalogue, ci_bot):
    item = report(ci_bot, True, Evidence(url="https://ci.example/runs/(812)", summary="run"))

    assert line_of(rendered(), item).endswith(" · [run](https://ci.example/runs/%28812%29)")
