"""Page numbers for the API's lists, read through a form like every other input."""

from http import HTTPStatus

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import QueryDict

from findings.api.errors import ApiError

PER_PAGE_DEFAULT = 50
PER_PAGE_MAX = 200


class PageForm(forms.Form):
    page = forms.IntegerField(min_value=1, required=False)
    per_page = forms.IntegerField(min_value=1, max_value=PER_PAGE_MAX, required=False)


def page_of(queryset: QuerySet, query: QueryDict) -> tuple[dict, list]:
    """The page the query asks for: its numbers and rows. Two queries: the count and the rows.

    A page past the last is empty rather than an error, so a script can loop until it is.
    """
    form = PageForm(query)
    if not form.is_valid():
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_request", form.errors.get_json_data())
    number = form.cleaned_data["page"] or 1
    per_page = form.cleaned_data["per_page"] or PER_PAGE_DEFAULT
    paginator = Paginator(queryset, per_page)
    start = (number - 1) * per_page
    rows = list(queryset[start : start + per_page]) if number <= paginator.num_pages else []
    numbers = {
        "count": paginator.count,
        "page": number,
        "pages": paginator.num_pages,
        "per_page": per_page,
    }
    return numbers, rows
