"""Hypothesis over every POST endpoint: hostile input never gives a 5xx; a refusal changes nothing.

Each endpoint gets texts with NUL bytes, bidi marks, emoji and 100,000 characters; integers that are
negative, zero or beyond any column; floats; a field sent several times or not at all; bodies that
are JSON, urlencoded or broken multipart; with and without the HTMX header. Each example runs in a
savepoint that is rolled back, and compares a digest of every table before and after the request:
a refused request (any 4xx, or the admin's 200 that redisplays its form) must leave every table as
it was, and the audit log may grow on a refusal only by the audited separation-of-duties refusal.
An accepted request must have done exactly what it asked, and nothing else.

The URL arguments are fuzzed too: codes and ids that are not ours must give 404, never a 5xx.
"""

import hashlib
import json
import re
import unicodedata
from contextlib import contextmanager
from urllib.parse import quote, urlencode, urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, event, given
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
from tests.admin_forms import form_data
from tests.conftest import PASSWORD

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


# Fixtures.


@pytest.fixture
def personas(reviewer, viewer, lead, admin_user, outsider):
    return {
        "reviewer": reviewer,
        "viewer": viewer,
        "lead": lead,
        "admin": admin_user,
        "outsider": outsider,
    }


def item_of(code: str) -> ChecklistItem:
    return ChecklistItem.objects.get(finding__code=code, position=1)


def make_phase_ready(phase: Phase, ticked_by) -> None:
    ChecklistItem.objects.filter(finding__phase=phase).update(
        checked=True, checked_at=timezone.now(), checked_by=ticked_by
    )
    Finding.objects.filter(phase=phase).update(status="done")


# /checklist/<id>/


TICK_SCENARIOS = {
    # name: (persona, finding whose first item is ticked)
    "a reviewer in an open phase": ("reviewer", "SI-001"),
    "a reviewer in a locked phase": ("reviewer", "BL-006"),
    "a viewer": ("viewer", "SI-001"),
    "a user with no role": ("outsider", "SI-001"),
}
CANNOT_CHANGE = ("viewer", "outsider")


@pytest.mark.parametrize("scenario", TICK_SCENARIOS)
@fuzz
@given(
    checked=values("true", "false"),
    version=values(CURRENT, "1", "2"),
    start_ticked=st.booleans(),
    shape=st.sampled_from(BODY_SHAPES),
    htmx=st.booleans(),
)
def test_a_tick_is_applied_exactly_or_refused_without_a_trace(
    client, catalogue, personas, scenario, checked, version, start_ticked, shape, htmx
):
    persona, code = TICK_SCENARIOS[scenario]
    client.force_login(personas[persona])
    with rolled_back():
        if start_ticked:
            ChecklistItem.objects.filter(pk=item_of(code).pk).update(
                checked=True, checked_at=timezone.now(), checked_by=personas["reviewer"], version=2
            )
        item = item_of(code)
        fields = with_version({"checked": checked, "version": version}, item.version)
        before = db_state()

        response = send(client, f"/checklist/{item.pk}/", fields, shape, htmx)

        assert_no_server_error(response)
        after = db_state()
        wanted, sent_version = last(fields, "checked", shape), last(fields, "version", shape)
        form_is_clean = wanted in ("true", "false") and is_clean_version(sent_version)
        if persona in CANNOT_CHANGE:
            expected = 403
        elif shape not in FORM_SHAPES or wanted not in ("true", "false"):
            expected = 400
        elif not form_is_clean:
            expected = None  # Django's IntegerField reads "1.0", " 1" or "١" as well.
        elif "locked" in scenario:
            expected = 423
        elif (wanted == "true") == item.checked or sent_version == str(item.version):
            expected = success_status(htmx)
        else:
            expected = 409
        if expected is not None:
            assert response.status_code == expected, (fields, shape)
        assert response.status_code in {200, 302, 400, 403, 409, 423}
        if response.status_code >= 400:
            assert after == before, changed(before, after)
            return
        assert response.status_code == success_status(htmx)
        now = ChecklistItem.objects.get(pk=item.pk)
        assert now.checked == (wanted == "true")
        if now.checked == item.checked:
            assert after == before, changed(before, after)
        else:
            assert now.version == item.version + 1
            assert changed(before, after) == {"findings.ChecklistItem", "findings.AuditChainHead",
                                              "audit events"}  # fmt: skip
            assert audit_actions_since(before["audit events"]) == [
                "checklist_item.ticked" if now.checked else "checklist_item.unticked"
            ]


# /findings/<code>/status/

STATUS_SCENARIOS = {
    "a reviewer in an open phase": ("reviewer", "SI-001"),
    "a reviewer in a locked phase": ("reviewer", "BL-006"),
    "a viewer": ("viewer", "SI-001"),
    "a user with no role": ("outsider", "SI-001"),
}
# SI-001's dependencies were completed before the plan, so only the lifecycle restricts it.
MOVES = {"planned": {"in_progress"}, "in_progress": {"planned", "in_review"}}
STATUSES = ("planned", "in_progress", "in_review", "done")


@pytest.mark.parametrize("scenario", STATUS_SCENARIOS)
@fuzz
@given(
    target=values(*STATUSES, "completed"),
    version=values(CURRENT, "1", "2"),
    start=st.sampled_from(sorted(MOVES)),
    shape=st.sampled_from(BODY_SHAPES),
    htmx=st.booleans(),
)
def test_a_status_move_is_applied_exactly_or_refused_without_a_trace(
    client, catalogue, personas, scenario, target, version, start, shape, htmx
):
    persona, code = STATUS_SCENARIOS[scenario]
    client.force_login(personas[persona])
    with rolled_back():
        if start != "planned":
            Finding.objects.filter(code=code).update(status=start, version=2)
        finding = Finding.objects.get(code=code)
        fields = with_version({"target": target, "version": version}, finding.version)
        before = db_state()

        response = send(client, f"/findings/{code}/status/", fields, shape, htmx)

        assert_no_server_error(response)
        after = db_state()
        wanted, sent_version = last(fields, "target", shape), last(fields, "version", shape)
        if persona in CANNOT_CHANGE:
            expected = 403
        elif shape not in FORM_SHAPES or wanted not in STATUSES:
            expected = 400
        elif not is_clean_version(sent_version):
            expected = None
        elif "locked" in scenario:
            expected = 423
        elif wanted == finding.status:
            expected = success_status(htmx)
        elif sent_version != str(finding.version):
            expected = 409
        elif wanted in MOVES[finding.status]:
            expected = success_status(htmx)
        else:
            expected = 422
        if expected is not None:
            assert response.status_code == expected, (fields, shape)
        assert response.status_code in {200, 302, 400, 403, 409, 422, 423}
        if response.status_code >= 400:
            assert after == before, changed(before, after)
            return
        now = Finding.objects.get(pk=finding.pk)
        assert now.status == wanted
        if now.status == finding.status:
            assert after == before, changed(before, after)
        else:
            assert now.version == finding.version + 1
            assert audit_actions_since(before["audit events"]) == ["finding.status_changed"]
            assert changed(before, after) == {"findings.Finding", "findings.AuditChainHead",
                                              "audit events"}  # fmt: skip


# /phases/<code>/signoff/

SIGN_SCENARIOS = ["not ready", "ready", "ready, but the lead owns a finding", "a reviewer"]


@pytest.mark.parametrize("scenario", SIGN_SCENARIOS)
@fuzz
@given(
    comment=values("Checked every item.", "  ok  "),
    shape=st.sampled_from(BODY_SHAPES),
    htmx=st.booleans(),
)
def test_a_signoff_is_recorded_exactly_or_refused_without_a_trace(
    client, catalogue, personas, scenario, comment, shape, htmx
):
    signer = personas["reviewer" if scenario == "a reviewer" else "lead"]
    client.force_login(signer)
    with rolled_back():
        phase = Phase.objects.get(code="2A")
        if scenario.startswith("ready"):
            make_phase_ready(phase, ticked_by=personas["reviewer"])
        if "owns" in scenario:
            Finding.objects.filter(code="SI-001").update(owner=signer)
        fields = {"comment": comment}
        before = db_state()

        response = send(client, "/phases/2A/signoff/", fields, shape, htmx)

        assert_no_server_error(response)
        after = db_state()
        note = last(fields, "comment", shape)
        if scenario == "a reviewer":
            expected = 403
        elif not is_valid_note(note):
            expected = 400
        elif scenario == "ready":
            expected = success_status(htmx)
        else:
            expected = 422
        assert response.status_code == expected, (fields, shape)
        if expected == 422 and "owns" in scenario:
            # Refusing a signer their own work is audited, and nothing else is written.
            assert audit_actions_since(before["audit events"]) == ["phase.signoff_refused"]
            assert changed(before, after) == {"findings.AuditChainHead", "audit events"}
        elif response.status_code >= 400:
            assert after == before, changed(before, after)
        else:
            signoff = Signoff.objects.active().get(phase=phase)
            assert (signoff.signed_by, signoff.comment) == (signer, note.strip())
            assert audit_actions_since(before["audit events"]) == ["phase.signed_off"]
            assert changed(before, after) == {"findings.Signoff", "findings.AuditChainHead",
                                              "audit events"}  # fmt: skip


# /phases/<code>/signoff/revoke/

REVOKE_SCENARIOS = ["signed off", "not signed off", "a reviewer"]


@pytest.mark.parametrize("scenario", REVOKE_SCENARIOS)
@fuzz
@given(
    reason=values("The evidence was wrong.", "\tredo\n"),
    shape=st.sampled_from(BODY_SHAPES),
    htmx=st.booleans(),
)
def test_a_revocation_is_recorded_exactly_or_refused_without_a_trace(
    client, catalogue, personas, scenario, reason, shape, htmx
):
    revoker = personas["reviewer" if scenario == "a reviewer" else "lead"]
    client.force_login(revoker)
    with rolled_back():
        phase = Phase.objects.get(code="2A")
        if scenario != "not signed off":
            Signoff.objects.create(
                phase=phase, signed_by=personas["admin"], signed_at=timezone.now()
            )
        fields = {"reason": reason}
        before = db_state()

        response = send(client, "/phases/2A/signoff/revoke/", fields, shape, htmx)

        assert_no_server_error(response)
        after = db_state()
        note = last(fields, "reason", shape)
        if scenario == "a reviewer":
            expected = 403
        elif not is_valid_note(note):
            expected = 400
        elif scenario == "signed off":
            expected = success_status(htmx)
        else:
            expected = 422
        assert response.status_code == expected, (fields, shape)
        if response.status_code >= 400:
            assert after == before, changed(before, after)
            return
        signoff = Signoff.objects.get(phase=phase)
        assert (signoff.revoked_by, signoff.revoke_reason) == (revoker, note.strip())
        assert audit_actions_since(before["audit events"]) == ["phase.signoff_revoked"]
        assert changed(before, after) == {"findings.Signoff", "findings.AuditChainHead",
                                          "audit events"}  # fmt: skip


# The admin's finding change form.

ADMIN_FIELDS = {
    "code": values("SI-001", "SI-999", "si-001", "SI-002"),
    "title": values("A clearer title"),
    "priority": values("CRITICAL", "LOW", ""),
    "priority_unconfirmed": values("on"),
    "status": values(*STATUSES, "completed"),
    "phase": values("1", "2", "4", ""),
    "document": values("1", "5", ""),
    "owner": values("1", "2", ""),
    "effort_min_days": values("1", "3", "", "32767", "32768"),
    "effort_max_days": values("2", "5", "", "32767", "32768"),
    "problem_statement": values("A problem.\r\n\r\n- one"),
    "migration_sql": values("SELECT 1;"),
    "dependency_links-TOTAL_FORMS": values("2", "3", "1001"),
    "dependency_links-INITIAL_FORMS": values("2", "0"),
    "dependency_links-0-id": values("1", "2"),
    "dependency_links-0-depends_on": values("1", "3", "4"),
    "dependency_links-0-DELETE": values("on"),
    "dependency_links-2-depends_on": values("1", "3", "4"),
    "checklist_items-TOTAL_FORMS": values("13", "14"),
    "checklist_items-INITIAL_FORMS": values("13", "0"),
    "checklist_items-0-id": values("1", "14"),
    "checklist_items-0-position": values("1", "2", "14"),
    "checklist_items-0-section": values("mandatory", "database"),
    "checklist_items-0-text": values("Reworded"),
    "checklist_items-0-DELETE": values("on"),
    "checklist_items-13-position": values("14", "1"),
    "checklist_items-13-section": values("integration"),
    "checklist_items-13-text": values("A new item"),
}


@pytest.fixture
def admin_change_form(admin_client, catalogue):
    finding = Finding.objects.get(code="SI-001")
    url = f"/admin/findings/finding/{finding.pk}/change/"
    return url, form_data(admin_client.get(url).content.decode())


def _form_errors(response) -> list:
    context = response.context
    errors = [context["adminform"].form.errors] if context["adminform"].form.errors else []
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        errors += [e for e in formset.errors if e] + list(formset.non_form_errors())
    return errors


@fuzz
@given(edits=st.dictionaries(st.sampled_from(sorted(ADMIN_FIELDS)), st.none(), max_size=4).flatmap(
    lambda chosen: st.fixed_dictionaries({name: ADMIN_FIELDS[name] for name in chosen})
))  # fmt: skip
def test_the_admin_finding_form_saves_what_it_shows_or_changes_nothing(
    admin_client, admin_change_form, edits
):
    url, shown = admin_change_form
    # Messages left by an earlier example's redirect would be read as this example's.
    admin_client.cookies.pop("messages", None)
    data = {**shown, "_save": "Save"}
    for name, sent in edits.items():
        if sent is None:
            data.pop(name, None)
        else:
            data[name] = sent
    with rolled_back():
        before = db_state()

        response = admin_client.post(url, data)

        assert_no_server_error(response)
        after = db_state()
        assert response.status_code in (200, 302), edits
        if response.status_code == 200:
            # The admin redisplays a refused form, with what it refused.
            assert _form_errors(response), edits
            assert after == before, changed(before, after)
            return
        messages = get_messages(response.wsgi_request)
        refusals = [message.message for message in messages if message.level_tag == "error"]
        # A save that reports "Not saved" must not have saved half of the form either.
        assert not (refusals and after != before), (edits, refusals, changed(before, after))
        if changed(before, after) - {"audit events", "findings.AuditChainHead"}:
            assert after["audit events"] > before["audit events"], "a change left no audit event"


def test_the_admin_redisplays_a_finding_form_whose_owner_is_not_an_id(
    admin_client, admin_change_form
):
    # Found by the test above: the autocomplete widget queries the database with the raw value.
    url, shown = admin_change_form
    before = db_state()

    response = admin_client.post(url, {**shown, "owner": " ", "_save": "Save"})

    assert response.status_code == 200
    assert "owner" in response.context["adminform"].form.errors
    assert db_state() == before


def test_the_admin_saves_nothing_of_a_finding_form_it_reports_as_not_saved(
    admin_client, admin_change_form
):
    # Found by the test above: the existing dependencies posted again as new rows.
    url, shown = admin_change_form
    before = db_state()

    response = admin_client.post(
        url,
        {**shown, "title": "Renamed", "dependency_links-INITIAL_FORMS": "0", "_save": "Save"},
    )

    refusals = [m.message for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
    # Redisplayed with the error, or refused as a whole: either way the rename is not kept.
    assert Finding.objects.get(code="SI-001").title != "Renamed", (response.status_code, refusals)
    assert db_state() == before


# /accounts/login/


@pytest.fixture
def throttled_logins(settings, admin_user):
    """Login throttling as in production: failed attempts are recorded, by design."""
    settings.AXES_ENABLED = True


def is_same_site(location: str) -> bool:
    """A redirect a browser resolves against this site: no scheme, no host, no `//` or `\\`."""
    compact = re.sub(r"[\x00-\x20\x7f]", "", location)
    parts = urlsplit(compact.replace("\\", "/"))
    return not parts.scheme and not parts.netloc and not compact.startswith(("//", "/\\"))


def _normalised_username(value: str | None) -> str | None:
    """The username as Django's UsernameField reads it; too long a name is left as it came."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped if len(stripped) > USERNAME_LENGTH else unicodedata.normalize("NFKC", stripped)


USERNAME_LENGTH = get_user_model()._meta.get_field("username").max_length


@fuzz
@given(
    username=values("admin", "ａｄｍｉｎ", " admin ", "Admin", "nobody", "x" * 151, "x" * 256),
    password=values(PASSWORD, PASSWORD + " ", "wrong"),
    next_url=values("/findings/", "https://evil.example/", "//evil.example/", "javascript:x"),
    shape=st.sampled_from(BODY_SHAPES),
)
def test_a_login_succeeds_only_with_the_right_password_and_a_refusal_changes_nothing(
    throttled_logins, username, password, next_url, shape
):
    fields = {"username": username, "password": password, "next": next_url}
    client = Client()
    with rolled_back():
        before = db_state(*LOGIN_TABLES)

        response = send(client, "/accounts/login/", fields, shape, htmx=False)

        assert_no_server_error(response)
        after = db_state(*LOGIN_TABLES)
        name, secret = last(fields, "username", shape), last(fields, "password", shape)
        valid_name = _normalised_username(name)
        # A name longer than the username column can never log in, and should not be tried.
        form_is_valid = bool(valid_name) and len(valid_name) <= USERNAME_LENGTH
        form_is_valid = form_is_valid and "\x00" not in valid_name
        form_is_valid = form_is_valid and bool(secret) and "\x00" not in secret
        if form_is_valid and valid_name == "admin" and secret == PASSWORD:
            assert response.status_code == 302, fields
            assert is_same_site(response["Location"]), response["Location"]
            assert changed(before, after) <= {"auth.User", "axes.AccessLog", "axes.AccessAttempt"}
            return
        assert response.status_code in (200, 400), fields
        # Throttling records a refused login that reached authentication, and nothing else does.
        recorded = {"axes.AccessAttempt", "axes.AccessFailureLog"} if form_is_valid else set()
        assert changed(before, after) <= recorded, (fields, changed(before, after))


# URL arguments: codes, file names and ids that name nothing.

NASTY_PATH_ARGUMENTS = [
    "..",
    "../",
    "%00",
    "\x00",
    "SI-001\x00",
    "SI-001'--",
    "SI-001%",
    "si-001",
    "SI-001 ",
    "SI-0001",
    "2a",
    "2A\x00",
    "ǅ",
    "ß",
    "\u202e2A",
    "🙂",
    "x" * 10_000,
    "README.md",
    "README.md\x00",
    "SI-001_TACTICAL_PLAN.md",
    "..%2F..%2Fetc%2Fpasswd",
    "-1",
    "0",
    "1",
    "00001",
    "0x10",
    "1.0",
    "99999999999999999999999",
    "9223372036854775807",
    "9223372036854775808",
]
PATH_ARGUMENT = st.one_of(
    st.sampled_from(NASTY_PATH_ARGUMENTS),
    TEXT.filter(lambda text: text not in ("", ".")),
    st.integers().map(str),
)
ROUTES = {
    # route: (method, valid body)
    "/findings/{}/": ("get", {}),
    "/findings/{}/status/": ("post", {"target": ["in_progress"], "version": ["1"]}),
    "/phases/{}/": ("get", {}),
    "/phases/{}/signoff/": ("post", {"comment": ["Checked."]}),
    "/phases/{}/signoff/revoke/": ("post", {"reason": ["Wrong."]}),
    "/checklist/{}/": ("post", {"checked": ["true"], "version": ["1"]}),
    "/documents/{}/": ("get", {}),
}


def _names_an_object(route: str, argument: str) -> bool:
    if route.startswith("/findings/"):
        return Finding.objects.filter(code=argument).exists() if "\x00" not in argument else False
    if route.startswith("/phases/"):
        return argument.upper() in {"2A", "2B", "2C", "2D"}
    if route.startswith("/documents/"):
        names = set(TacticalDocument.objects.values_list("file_name", flat=True)) | {"README.md"}
        return argument in names
    return bool(re.fullmatch(r"[0-9]+", argument)) and (
        int(argument) in set(ChecklistItem.objects.values_list("pk", flat=True))
    )


@pytest.mark.parametrize("route", ROUTES)
@fuzz
@given(argument=PATH_ARGUMENT)
def test_a_url_argument_that_names_nothing_gives_404_and_changes_nothing(
    admin_client, catalogue, route, argument
):
    method, body = ROUTES[route]
    # Percent-encoded as a browser would send it; Django decodes it before routing.
    url = route.format(quote(argument, safe=""))
    with rolled_back():
        before = db_state()

        if method == "get":
            response = admin_client.get(url)
        else:
            response = send(admin_client, url, body, "multipart", htmx=False)

        assert_no_server_error(response)
        if not _names_an_object(route, argument):
            assert response.status_code == 404, url[:200]
            assert db_state() == before


def test_a_username_longer_than_any_account_is_refused_by_the_form(throttled_logins):
    # Found by the login test above: Django's login form does not enforce the username's length,
    # and django-axes stores the attempt in a varchar(255), which PostgreSQL refuses with a
    # DataError: a 500. SQLite ignores the length and records the attempt.
    before = db_state(*LOGIN_TABLES)

    response = Client().post("/accounts/login/", {"username": "x" * 256, "password": PASSWORD})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert db_state(*LOGIN_TABLES) == before
