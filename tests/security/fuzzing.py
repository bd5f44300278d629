"""Strategies, database digests and helpers that the fuzz tests of tests/security share.

Every fuzzed request runs in a savepoint that is rolled back (`rolled_back`), and `db_state`
takes a digest of every table before and after it, so a refusal can be proved to change nothing.
"""

import hashlib
import json
import re
from contextlib import contextmanager
from urllib.parse import urlencode

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.utils import timezone
from hypothesis import HealthCheck, event
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from findings.models import (
    AuditChainHead,
    AuditEvent,
    ChecklistItem,
    Dependency,
    Finding,
    Phase,
    Signoff,
    TacticalDocument,
)

# The number of examples comes from the Hypothesis profile (tests/conftest.py).
fuzz = fuzz_settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# Strategies.

# Values a fuzzer would rarely stumble on by itself.
NASTY_STRINGS = [
    "",
    " ",
    "\t\r\n",
    "\x00",
    "a\x00b",
    "true\x00",
    "1\x00",
    "\x00" * 10,
    "\u202eevil\u202c",
    "\u200f\u200e",
    "\ufeff1",
    "🙂🙂🙂",
    "١",
    "１",
    "1_0",
    "+1",
    "-1",
    "0",
    "-0",
    "1.0",
    "1.5",
    "1e3",
    "0x10",
    "NaN",
    "inf",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "99999999999999999999999",
    "None",
    "null",
    "[]",
    "{}",
    "True",
    "on",
    "' OR '1'='1",
    "SI-001'--",
    "../",
    "%00",
    "<script>alert(1)</script>",
    "{{ 7|add:7 }}",
    "x" * 2001,
    "é" * 3000,
    "x" * 100_000,
]
# Surrogates cannot be encoded in a request body, so no client could send them.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
HOSTILE = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    TEXT,
    st.integers().map(str),
    st.floats().map(repr),
)
# A stand-in for the version the page showed, read from the database inside each example.
CURRENT = "<current version>"
# Weighted towards real forms, which reach further into the endpoint.
BODY_SHAPES = [
    "multipart",
    "multipart",
    "multipart",
    "urlencoded",
    "urlencoded",
    "json",
    "files",
    "broken multipart",
    "1001 fields",
]
FORM_SHAPES = ("multipart", "urlencoded")


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, each as often as its weight says.

    one_of flattens nested one_ofs into equal branches, which would make a field's few valid values
    rare among the hostile ones, and the examples would seldom get past form validation.
    """
    picks = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(picks).flatmap(lambda strategy: strategy)


def values(*valid: str) -> st.SearchStrategy[list[str] | None]:
    """A field's values: None leaves it out; several send it several times, as a form can."""
    one = weighted((2, st.sampled_from(valid)), (1, HOSTILE)) if valid else HOSTILE
    return weighted((4, st.lists(one, min_size=1, max_size=3)), (1, st.none()))


def last(fields: dict, name: str, shape: str) -> str | None:
    """The value Django's form sees: the last one sent, if the body is a form at all."""
    sent = fields.get(name)
    return sent[-1] if shape in FORM_SHAPES and sent else None


def with_version(fields: dict, version: int) -> dict:
    return {
        name: None if sent is None else [str(version) if v == CURRENT else v for v in sent]
        for name, sent in fields.items()
    }


def is_clean_version(value: str | None) -> bool:
    return value is not None and re.fullmatch(r"[1-9][0-9]{0,8}", value) is not None


def is_valid_note(value: str | None) -> bool:
    """What the signoff comment and the revocation reason accept: Django's CharField rules."""
    if value is None:
        return False
    stripped = value.strip()
    return bool(stripped) and len(stripped) <= 2000 and "\x00" not in stripped


def send(client, url: str, fields: dict, shape: str, htmx: bool):
    data = {name: sent for name, sent in fields.items() if sent is not None}
    headers = {"HX-Request": "true"} if htmx else {}
    if shape == "multipart":
        return client.post(url, data, headers=headers)
    if shape == "urlencoded":
        body = urlencode(data, doseq=True)
        return client.post(url, body, "application/x-www-form-urlencoded", headers=headers)
    if shape == "json":
        return client.post(url, json.dumps(data), "application/json", headers=headers)
    if shape == "files":
        # Each field as an uploaded file: a form field of the wrong type.
        uploads = {name: SimpleUploadedFile(name, sent[-1].encode()) for name, sent in data.items()}
        return client.post(url, uploads, headers=headers)
    if shape == "broken multipart":
        body = "--zz\r\nContent-Disposition: form-data; name=\x00\r\n\r\nx"
        return client.post(url, body, "multipart/form-data; boundary=zz", headers=headers)
    body = "&".join(f"f{n}=1" for n in range(1001)) + "&" + urlencode(data, doseq=True)
    return client.post(url, body, "application/x-www-form-urlencoded", headers=headers)


# The database, before and after.

DOMAIN_TABLES = [
    Phase,
    TacticalDocument,
    Finding,
    Dependency,
    ChecklistItem,
    Signoff,
    AuditChainHead,
    get_user_model(),
    Group,
]
LOGIN_TABLES = [AccessAttempt, AccessFailureLog, AccessLog]


def _rows(model: type[models.Model]) -> list:
    columns = [field.attname for field in model._meta.concrete_fields]
    return list(model._default_manager.order_by("pk").values_list(*columns))


def db_state(*extra: type[models.Model]) -> dict:
    """A digest of each table a request could change, by name, so a failure says which changed."""
    state = {
        model._meta.label: hashlib.sha256(repr(_rows(model)).encode()).hexdigest()[:16]
        for model in [*DOMAIN_TABLES, *extra]
    }
    state["audit events"] = AuditEvent.objects.count()
    return state


def changed(before: dict, after: dict) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def audit_actions_since(count: int) -> list[str]:
    return list(AuditEvent.objects.order_by("sequence")[count:].values_list("action", flat=True))


@contextmanager
def rolled_back():
    """One example's changes, undone afterwards, so every example starts from the same data."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def assert_no_server_error(response) -> None:
    # The test client re-raises a view's exception, so an uncaught one fails before this line.
    assert response.status_code < 500, response.content[:500]
    # Shown by --hypothesis-show-statistics: which answers the examples reached.
    event(f"status {response.status_code}")


def success_status(htmx: bool) -> int:
    """A plain form post is redirected after a change; HTMX gets the fragment to swap in."""
    return 200 if htmx else 302


def item_of(code: str) -> ChecklistItem:
    return ChecklistItem.objects.get(finding__code=code, position=1)


def make_phase_ready(phase: Phase, ticked_by) -> None:
    ChecklistItem.objects.filter(finding__phase=phase).update(
        checked=True, checked_at=timezone.now(), checked_by=ticked_by
    )
    Finding.objects.filter(phase=phase).update(status="done")


STATUSES = ("planned", "in_progress", "in_review", "done")
