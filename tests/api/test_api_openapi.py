"""The OpenAPI document at /api/v1/openapi.json: public, and a valid OpenAPI 3.1 document."""

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_it_serves_a_valid_openapi_document(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert "/api/v1/findings/{code}/checklist/{key}" in document["paths"]


def test_it_serves_no_docs_page_that_would_need_a_cdn(client):
    assert client.get("/api/v1/docs").status_code in (302, 404)
