"""The dependency graph drawn as SVG on the phase, finding and README document pages."""

import re

import pytest

from findings.graphs import STATUS_COLOURS, graph_for_plan
from findings.models import Dependency, Finding, Status
from tests.phase_work import finish

pytestmark = pytest.mark.django_db


def svg_of(response) -> str:
    content = response.content.decode()
    match = re.search(r"<svg[^>]*aria-labelledby=\"graph-svg-title.*?</svg>", content, re.S)
    assert match, "no dependency graph on the page"
    return match.group(0)


def node_codes(svg: str) -> list[str]:
    return re.findall(r'<a href="/findings/([A-Z]{2}-\d{3})/" class="graph-node', svg)


def node_of(svg: str, code: str) -> str:
    match = re.search(rf'<a href="/findings/{code}/" class="graph-node.*?</a>', svg, re.S)
    assert match, f"no node for {code}"
    return match.group(0)


def linked(code: str) -> set[str]:
    """The codes of the findings `code` depends on and of those that depend on it."""
    links = Dependency.objects.filter(finding__code=code).values_list("depends_on__code", flat=True)
    back = Dependency.objects.filter(depends_on__code=code).values_list("finding__code", flat=True)
    return {*links, *back}


def test_it_draws_a_phase_with_its_dependencies_and_dependants(viewer_client):
    response = viewer_client.get("/phases/2B/")

    svg = svg_of(response)
    codes = set(node_codes(svg))
    in_2b = set(Finding.objects.filter(phase__code="2B").values_list("code", flat=True))
    neighbours = {other for code in in_2b for other in linked(code)}
    assert response.status_code == 200
    assert codes == in_2b | neighbours
    touching_2b = Dependency.objects.filter(finding__code__in=in_2b) | Dependency.objects.filter(
        depends_on__code__in=in_2b
    )
    assert svg.count('marker-end="url(#graph-arrow)"') == touching_2b.count()


def test_it_draws_the_2a_gate_between_2a_and_2b_with_its_state(viewer_client):
    svg = svg_of(viewer_client.get("/documents/README.md/"))

    gate = re.search(r'<g class="graph-gate" data-phase="2A">.*?</g>', svg, re.S).group(0)
    assert "2A gate" in gate
    assert "not signed off" in gate
    assert svg.count('class="graph-gate"') == 1
    gate_x = float(re.search(r'<line x1="(\d+)"', gate).group(1))
    band_2a = re.search(r'<rect x="(\d+)" y="4" width="(\d+)"[^>]*/>\s*<text[^>]*>2A', svg)
    band_2b = re.search(r'<rect x="(\d+)" y="4" width="(\d+)"[^>]*/>\s*<text[^>]*>2B', svg)
    assert int(band_2a.group(1)) + int(band_2a.group(2)) <= gate_x <= int(band_2b.group(1))


def test_it_says_when_the_gate_is_signed_off(client, signoff, viewer):
    client.force_login(viewer)

    svg = svg_of(client.get("/phases/2A/"))

    gate = re.search(r'<g class="graph-gate" data-phase="2A">.*?</g>', svg, re.S).group(0)
    assert "signed off" in gate
    assert "not signed off" not in gate


def test_it_colours_each_node_by_its_status(viewer_client, reviewer):
    finish("SI-001", reviewer)
    Finding.objects.filter(code="SI-002").update(status=Status.IN_REVIEW)

    svg = svg_of(viewer_client.get("/phases/2A/"))

    assert f'fill="{STATUS_COLOURS[Status.DONE][0]}"' in node_of(svg, "SI-001")
    assert f'fill="{STATUS_COLOURS[Status.IN_REVIEW][0]}"' in node_of(svg, "SI-002")
    assert "status-in_review" in node_of(svg, "SI-002")
    for fill, _ in STATUS_COLOURS.values():
        assert f'fill="{fill}"' in svg, "the legend shows every status"


def test_it_draws_a_finding_with_only_its_neighbours(viewer_client):
    svg = svg_of(viewer_client.get("/findings/SI-001/"))

    assert set(node_codes(svg)) == {"SI-001"} | linked("SI-001")


def test_it_draws_the_whole_plan_on_the_readme_page(viewer_client):
    response = viewer_client.get("/documents/README.md/")

    svg = svg_of(response)
    assert response.status_code == 200
    assert sorted(node_codes(svg)) == sorted(Finding.objects.values_list("code", flat=True))
    assert 'data-phase="2A"' in svg
    assert "```mermaid" not in svg


def test_it_draws_no_graph_on_a_phase_document_page(viewer_client):
    content = viewer_client.get("/documents/SI-001_TACTICAL_PLAN.md/").content.decode()

    assert "graph-svg-title" not in content


def test_it_gives_a_text_alternative(viewer_client):
    content = viewer_client.get("/findings/SI-002/").content.decode()

    svg = svg_of(viewer_client.get("/findings/SI-002/"))
    assert '<title id="graph-svg-title">Dependencies of SI-002</title>' in svg
    assert re.search(r'<desc id="graph-svg-desc">\d+ findings in \d+ bands', svg)
    fallback = content[content.index('<ul class="graph-list">') :]
    fallback = fallback[: fallback.index("</ul>")]
    for code in linked("SI-002"):
        assert f'href="/findings/{code}/"' in fallback
    assert "SI-002</a>" in fallback


def test_it_escapes_titles_in_the_picture_and_the_list(viewer_client):
    Finding.objects.filter(code="SI-001").update(title='<script>alert("x")</script> & "q"')

    content = viewer_client.get("/phases/2A/").content.decode()

    assert "<script>alert" not in content
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;q&quot;" in content


def test_it_reads_the_graph_in_three_queries(catalogue, django_assert_num_queries):
    with django_assert_num_queries(3):
        graph = graph_for_plan()

    assert len(graph.nodes) == Finding.objects.count()
    assert len(graph.edges) == Dependency.objects.count()


def test_it_places_every_dependency_left_of_its_dependant(catalogue):
    graph = graph_for_plan()

    assert all(edge.dependency.x < edge.dependant.x for edge in graph.edges)
    places = [(node.x, node.y) for node in graph.nodes]
    assert len(set(places)) == len(places)


def test_it_draws_the_gate_that_locks_a_later_phase(viewer_client):
    svg = svg_of(viewer_client.get("/phases/2B/"))

    assert re.search(r'<g class="graph-gate" data-phase="2A">.*?not signed off', svg, re.S)
