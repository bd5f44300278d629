"""The export escapes what it embeds, whatever is stored: hostile rows are written with update()."""

import re

import markdown
import pytest

from findings.export.documents import document_markdown
from findings.export.index import readme_markdown
from findings.export.snapshot import snapshot_load
from findings.models import Finding, Phase, TacticalDocument
from tests.phase_work import item_of, tick

# Each fits a phase name's 50 characters.
INJECTED_CLICK = 'F"]\n  click SI_001 "javascript:alert(1)"\n  end'
HOSTILE_NAME = "<img src=x onerror=alert(1)>|**bold**\n# Injected"
HOSTILE_TITLE = (
    "<script>alert(1)</script> **bold** [link](javascript:alert(1)) `code` | cell &amp;\r\n"
    "# Injected heading\u2028<img src=x onerror=alert(1)>"
)
# Every statement the graph is made of; anything else was injected.
GRAPH_STATEMENT = re.compile(
    r"graph TD"
    r'|    subgraph \w+\["[^"\n]*"\]'
    r"|    end"
    r'|( {4}| {8})\w+\["[^"\n]*"\]'
    r'|    \w+\{"[^"\n]*"\}'
    r"|    \w+ --> \w+"
    r"|    \w+ ==> \w+"
)
# And every statement of the figures: the burndown's xychart and the graphs' status colours.
FIGURE_STATEMENT = re.compile(
    rf"{GRAPH_STATEMENT.pattern}"
    r"|xychart-beta"
    r'|    title "[^"\n]*"'
    r'|    x-axis \["\d{4}-\d{2}-\d{2}"(, "\d{4}-\d{2}-\d{2}")*\]'
    r'|    y-axis "Items ticked, findings done" 0 --> \d+'
    r"|    line \[\d+(, \d+)*\]"
    r"|    classDef \w+ fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6},color:#[0-9a-f]{6}"
    r"|    class \w+(,\w+)* \w+"
)


def readme() -> str:
    return readme_markdown(snapshot_load())


def document(file_name: str) -> str:
    snapshot = snapshot_load()
    entry = next(e for e in snapshot.documents if e.document.file_name == file_name)
    return document_markdown(entry, snapshot)


def mermaid_graph(text: str) -> list[str]:
    return re.search(r"```mermaid\n(.*?)\n```", text, re.S).group(1).split("\n")


def mermaid_lines(text: str) -> list[str]:
    """The lines of every mermaid block in the text."""
    blocks = re.findall(r"```mermaid\n(.*?)\n```", text, re.S)
    return [line for block in blocks for line in block.split("\n")]


def html_of(text: str) -> str:
    # python-markdown alone, without the app's sanitiser: the markdown itself must be inert.
    return markdown.markdown(text, extensions=["tables"])


def assert_inert(html: str) -> None:
    assert "<script" not in html
    assert "<img" not in html
    assert "<strong>bold" not in html
    assert 'href="javascript' not in html
    assert "<h1>Injected" not in html and "<h2>Injected" not in html


def test_a_phase_name_cannot_add_a_statement_to_the_dependency_graph(catalogue):
    Phase.objects.filter(code="2A").update(name=INJECTED_CLICK)

    graph = mermaid_graph(readme())

    assert [line for line in graph if not GRAPH_STATEMENT.fullmatch(line)] == []
    assert not any("click" in line and "subgraph" not in line for line in graph)
    assert (
        '    subgraph phase_2a["Phase 2A F#quot;#93; click SI_001 '
        '#quot;javascript:alert(1)#quot; end"]'
    ) in graph


def test_a_finding_code_stored_behind_validation_cannot_end_its_label(catalogue):
    Finding.objects.filter(code="SI-001").update(code='S"]%%')

    graph = mermaid_graph(readme())

    assert [line for line in graph if not GRAPH_STATEMENT.fullmatch(line)] == []
    assert '        finding_S____["S#quot;#93;#37;#37;"]' in graph


def test_a_finding_title_renders_inert_in_its_document(catalogue):
    Finding.objects.filter(code="SI-001").update(title=HOSTILE_TITLE)

    text = document("SI-001_TACTICAL_PLAN.md")

    heading = text.split("\n")[0]
    assert heading.startswith("# SI-001: &lt;script&gt;alert(1)&lt;/script&gt; \\*\\*bold\\*\\* ")
    assert heading.endswith(" - TACTICAL IMPLEMENTATION PLAN")
    assert "\n# Injected heading" not in text
    assert_inert(html_of(text))


def test_titles_and_names_render_inert_in_the_readme(catalogue):
    Finding.objects.filter(code="SI-001").update(title=HOSTILE_TITLE)
    TacticalDocument.objects.filter(file_name="SI-001_TACTICAL_PLAN.md").update(title=HOSTILE_TITLE)
    Phase.objects.filter(code="2A").update(name=HOSTILE_NAME)

    text = readme()

    rows = [line for line in text.split("\n") if line.startswith("| 4 |")]
    assert len(rows) == 1
    # Five cells: no `|` of the title opened another one.
    assert len(re.findall(r"(?<!\\)\|", rows[0])) == 6
    assert "\n# Injected heading" not in text
    assert_inert(html_of(text))


@pytest.mark.parametrize(
    ("folder", "target"),
    [("phase 2a) [x](javascript:alert(1)", "phase%202a%29%20%5Bx%5D%28javascript%3Aalert%281%29")],
)
def test_a_folder_name_cannot_end_its_link(catalogue, folder, target):
    Phase.objects.filter(code="2A").update(folder_name=folder)

    text = readme()

    assert f"]({target}/)" in text
    assert f"]({target}/SI-001_TACTICAL_PLAN.md)" in text
    assert 'href="javascript' not in html_of(text)


def test_a_grouped_documents_title_and_phase_render_inert(catalogue):
    TacticalDocument.objects.filter(file_name="REMAINING_FINDINGS_TACTICAL_PLAN.md").update(
        title=HOSTILE_TITLE
    )
    Phase.objects.filter(code="2D").update(name=HOSTILE_NAME)

    text = document("REMAINING_FINDINGS_TACTICAL_PLAN.md")

    assert text.startswith("# REMAINING FINDINGS: &lt;script&gt;")
    assert "\n# Injected heading" not in text
    assert_inert(html_of(text))


def test_a_phase_code_and_name_cannot_add_a_statement_to_the_figures(catalogue, reviewer):
    tick(item_of("SI-001", 1), reviewer)
    Phase.objects.filter(code="2A").update(code='"\n', name=INJECTED_CLICK)
    Finding.objects.filter(code="SI-002").update(code='S"]%%')

    readme_text, document_text = readme(), document("SI-001_TACTICAL_PLAN.md")

    lines = mermaid_lines(readme_text) + mermaid_lines(document_text)
    assert "xychart-beta" in lines
    assert [line for line in lines if not FIGURE_STATEMENT.fullmatch(line)] == []
    assert '    title "Progress of phase #quot;"' in lines
    assert '        finding_S____["S#quot;#93;#37;#37; (planned)"]' in lines
    assert '## Phase " figures' in document_text
    assert_inert(html_of(document_text))
