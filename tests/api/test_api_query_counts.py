"""How many SQL queries each API read costs, with the 30 seeded findings and 330.

The same count at both sizes catches a query per row; the exact count catches any new query.
A token request reads the token with its user, then the user's permissions, their own and their
groups' in one: 2 queries before the operation's own (its last use is written once a minute, and
the warm-up request below has just written it).
The findings: the page's count and rows (the filter form reads nothing unless asked). One finding:
the finding with its phase and owner, then its items with who ticked them. The phases: phases
with their progress, the active signoffs, then per phase the signoff lead role's holders (one
query for each of the 4 phases, which do not grow with the findings). The audit log: the filter
form's actions, then the page's count and rows. The CSVs: the same filter reads and one query for
every row.
"""

import pytest

from findings.models import AuditEvent, Finding
from tests.api.conftest import bearer
from tests.views.test_query_counts import GENERATED, add_generated_findings

# What rendering reads: a page answered from the cache reads less (tests/views/test_page_cache.py).
pytestmark = pytest.mark.usefixtures("page_cache_off")

QUERIES = {
    "findings": ("/api/v1/findings/?per_page=200", 4),
    "finding": ("/api/v1/findings/SI-001/", 4),
    "phases": ("/api/v1/phases/", 8),
    "audit": ("/api/v1/audit/?per_page=200", 5),
    "findings-csv": ("/api/v1/findings/export.csv", 3),
    "audit-csv": ("/api/v1/audit/export.csv", 4),
}


@pytest.fixture(params=[0, GENERATED], ids=["30-findings", "330-findings"])
def generated(request, catalogue) -> int:
    add_generated_findings(request.param)
    return request.param


@pytest.mark.parametrize("name", QUERIES)
def test_it_reads_in_a_fixed_number_of_queries(
    client, read_only_token, generated, django_assert_num_queries, name
):
    url, queries = QUERIES[name]
    client.get("/api/v1/findings/SI-001/", headers=bearer(read_only_token))

    with django_assert_num_queries(queries):
        response = client.get(url, headers=bearer(read_only_token))
        content = b"".join(response.streaming_content) if response.streaming else response.content

    assert response.status_code == 200
    if name == "findings":
        assert len(response.json()["results"]) == min(200, Finding.objects.count())
    if name == "audit":
        assert len(response.json()["results"]) == min(200, AuditEvent.objects.count())
    if name.endswith("-csv"):
        assert content.count(b"\n") > 30 + generated // 3
