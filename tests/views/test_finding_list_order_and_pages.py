"""The findings table at /findings/: sorting by every column, and paging."""

import pytest

from tests.views.finding_table import codes_in


@pytest.mark.parametrize(
    "sort, first",
    [
        ("code", "BF-001"),
        ("-code", "SI-007"),
        ("title", "BF-002"),
        ("-title", "BL-001"),
        ("phase", "BF-002"),
        ("-phase", "BF-008"),
        ("priority", "BF-002"),
        ("-priority", "BF-008"),
        ("status", "BF-002"),
        ("-status", "BF-001"),
        ("owner", "SI-004"),
        ("-owner", "BL-009"),
        ("checklist", "BF-002"),
        ("-checklist", "SI-006"),
        ("effort", "BL-004"),
        ("-effort", "SI-002"),
    ],
)
def test_it_sorts_by_every_column(viewer_client, varied, sort, first):
    response = viewer_client.get(f"/findings/?sort={sort}")

    assert response.status_code == 200
    assert codes_in(response)[0] == first


def test_it_puts_findings_without_a_value_last_whichever_way_it_sorts(viewer_client, varied):
    ascending = codes_in(viewer_client.get("/findings/?sort=owner"))
    descending = codes_in(viewer_client.get("/findings/?sort=-owner"))

    assert ascending[:2] == ["SI-004", "BL-009"]
    assert descending[:2] == ["BL-009", "SI-004"]


def test_it_keeps_the_filters_in_the_sort_links(viewer_client):
    content = viewer_client.get("/findings/?phase=2A").content.decode()

    assert 'href="?phase=2A&amp;sort=title"' in content


def header(content: str, name: str) -> str:
    """The opening tag and link of a column header, found by its link text."""
    end = content.index(f">{name}</a>")
    return content[content.rindex("<th", 0, end) : end]


def test_it_marks_the_sorted_column_ascending_for_assistive_technology(viewer_client):
    content = viewer_client.get("/findings/").content.decode()

    assert header(content, "Code") == (
        '<th class="asc orderable" aria-sort="ascending">\n          <a href="?sort=-code"'
    )
    assert header(content, "Title") == '<th class="orderable">\n          <a href="?sort=title"'
    assert content.count("aria-sort=") == 1


def test_it_marks_a_descending_sort_and_offers_to_reverse_it(viewer_client):
    content = viewer_client.get("/findings/?sort=-effort").content.decode()

    assert header(content, "Effort") == (
        '<th class="desc orderable" aria-sort="descending">\n          <a href="?sort=effort"'
    )
    assert 'aria-sort="ascending"' not in content
    assert 'href="?sort=code"' in content


def test_it_keeps_the_filters_and_the_sort_in_the_page_links(viewer_client):
    content = viewer_client.get("/findings/?priority_unconfirmed=false&sort=-code").content.decode()
    both = viewer_client.get("/findings/?priority=&sort=-code").content.decode()

    assert '<ul class="pagination">' not in content
    assert '<li class="active">' in both
    assert 'href="?priority=&amp;sort=-code&amp;page=2">next</a>' in both


def test_it_pages_25_findings_at_a_time(viewer_client):
    response = viewer_client.get("/findings/?page=2")

    assert codes_in(response) == ["SI-003", "SI-004", "SI-005", "SI-006", "SI-007"]
    assert "Findings 26–30 of 30" in response.content.decode()


def test_it_ignores_a_requested_page_size(viewer_client):
    assert len(codes_in(viewer_client.get("/findings/?per_page=1000"))) == 25
    assert len(codes_in(viewer_client.get("/findings/?per_page=-5"))) == 25


@pytest.mark.parametrize("page, expected_first", [("abc", "BF-001"), ("99", "SI-003")])
def test_it_shows_the_nearest_page_for_a_page_that_does_not_exist(
    viewer_client, page, expected_first
):
    response = viewer_client.get(f"/findings/?page={page}")

    assert response.status_code == 200
    assert codes_in(response)[0] == expected_first


@pytest.mark.parametrize("page", ["٢", "２", "%2B2", "0_2"])
def test_it_reads_a_page_number_only_in_the_digits_0_to_9(viewer_client, page):
    # int() reads "٢" (Arabic-Indic two) as 2; such a page number is no number, as "abc" is.
    response = viewer_client.get(f"/findings/?page={page}")

    assert response.status_code == 200
    assert codes_in(response) == codes_in(viewer_client.get("/findings/"))
