"""The admin: thin registrations whose writes go through the domain services and are audited."""

import re
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect

from findings.gates import locking_gates, phases_with_signoff
from findings.models import (
    ApiToken,
    AuditEvent,
    ChecklistItem,
    Dependency,
    Finding,
    Notification,
    Phase,
    Signoff,
    TacticalDocument,
)
from findings.services.audit import ActionContext
from findings.services.catalogue import catalogue_object_delete, catalogue_object_save
from findings.services.checklist import checklist_item_delete, checklist_item_save
from findings.services.dependencies import dependency_add, dependency_remove
from findings.services.findings import (
    finding_create,
    finding_delete,
    finding_snapshot,
    finding_update,
)
from findings.services.status import finding_save_problems
from findings.services.tokens import token_create, token_revoke

ROW_ID = re.compile(r"[0-9]{1,18}")


class SaveRefused(Exception):
    """A refusal by the domain while the admin saves, which undoes the whole save."""


class SaveRefusedMixin:
    """Show a SaveRefused as the page's error message instead of a 500."""

    def changeform_view(self, request, *args, **kwargs):
        # The domain refused a row the form let through: the admin's transaction is rolled back,
        # finding included, and the page says so instead of "changed successfully".
        try:
            return super().changeform_view(request, *args, **kwargs)
        except SaveRefused as refusal:
            messages.error(request, str(refusal))
            return HttpResponseRedirect(request.path)


class SignedPhaseMixin:
    """Say before saving that a change inside a signed phase revokes its signoff, and after
    saving which signoffs the save revoked.

    The services revoke the signoff (signoffs_revalidate); this only tells the admin about it.
    An admin names the phase its object belongs to with `signed_phase_of`.
    """

    def signed_phase_of(self, obj) -> Phase | None:
        raise NotImplementedError

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            _warn_if_signed(request, self.signed_phase_of(obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def render_delete_form(self, request, context):
        _warn_if_signed(request, self.signed_phase_of(context["object"]))
        return super().render_delete_form(request, context)

    def changeform_view(self, request, *args, **kwargs):
        return _reporting_revocations(
            request, partial(super().changeform_view, request, *args, **kwargs)
        )

    def delete_view(self, request, *args, **kwargs):
        return _reporting_revocations(
            request, partial(super().delete_view, request, *args, **kwargs)
        )

    def changelist_view(self, request, *args, **kwargs):
        # The list's "delete selected" action deletes through delete_queryset.
        return _reporting_revocations(
            request, partial(super().changelist_view, request, *args, **kwargs)
        )


def _warn_if_signed(request, phase: Phase | None) -> None:
    if phase is None or not phase.signoffs.active().exists():
        return
    relocked = _phases_relocked_by_revoking(phase)
    warning = f"Phase {phase.code} is signed off: saving a change here revokes its signoff"
    if relocked:
        codes = [later.code for later in relocked]
        named = codes[0] if len(codes) == 1 else f"{', '.join(codes[:-1])} and {codes[-1]}"
        warning += f" and locks {named} again"
    messages.warning(request, f"{warning}.")


def _phases_relocked_by_revoking(phase: Phase) -> list[Phase]:
    """The phases that `phase`'s signoff unlocks now and that would be locked without it."""
    phases = phases_with_signoff()
    locked_now = locking_gates(phases)
    for candidate in phases:
        if candidate.pk == phase.pk:
            candidate.has_active_signoff = False
    locked_without = locking_gates(phases)
    return [later for later in phases if later.pk in locked_without and later.pk not in locked_now]


def _reporting_revocations(request, view):
    """Run the admin view; after a POST, name each signoff that stood before it and fell."""
    if request.method != "POST":
        return view()
    standing = list(Signoff.objects.active().values_list("pk", flat=True))
    response = view()
    revoked = (
        Signoff.objects.filter(pk__in=standing, revoked_at__isnull=False)
        .select_related("phase", "signed_by")
        .order_by("phase__order")
    )
    for signoff in revoked:
        signer = signoff.signed_by.get_username() if signoff.signed_by else "a removed user"
        messages.warning(
            request,
            f"The signoff of phase {signoff.phase.code} by {signer} was revoked: "
            f"{signoff.revoke_reason}",
        )
    return response


class TolerantAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget, redisplaying a form whose value is not an id at all.

    The stock widget looks the posted value up as an id to show it again, and fails with a 500
    on "abc"; the form already reports the value as invalid, so there is nothing to show.
    """

    def optgroups(self, name, value, attr=None):
        ids = [item for item in value if ROW_ID.fullmatch(str(item))]
        return super().optgroups(name, ids, attr)


class TolerantAutocompleteMixin:
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = TolerantAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class FindingAdminForm(forms.ModelForm):
    """The admin's finding form; the admin supplies the model and fields from the fieldsets."""

    def clean(self):
        # The service judges the save again under its locks; asking it here first puts its
        # refusal on the field it concerns.
        cleaned_data = super().clean()
        if "status" in cleaned_data and "phase" in cleaned_data:
            stored = None
            if self.instance.pk:
                stored = Finding.objects.select_related("phase").get(pk=self.instance.pk)
            candidate = Finding(
                pk=self.instance.pk,
                code=cleaned_data.get("code", self.instance.code),
                status=cleaned_data["status"],
                phase=cleaned_data["phase"],
            )
            problems = finding_save_problems(stored=stored, finding=candidate)
            for field, field_problems in problems.items():
                for problem in field_problems:
                    self.add_error(field, problem)
        return cleaned_data


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    fields = ["position", "key", "section", "text", "checked", "checked_by", "checked_at"]
    readonly_fields = ["key", "checked", "checked_by", "checked_at"]
    extra = 0


class DependencyInline(TolerantAutocompleteMixin, admin.TabularInline):
    model = Dependency
    fk_name = "finding"
    fields = ["depends_on"]
    autocomplete_fields = ["depends_on"]
    extra = 0
    verbose_name = "dependency"
    verbose_name_plural = "depends on"


@admin.register(Finding)
class FindingAdmin(SignedPhaseMixin, SaveRefusedMixin, TolerantAutocompleteMixin, admin.ModelAdmin):
    form = FindingAdminForm
    list_display = ["code", "title", "phase", "priority", "priority_unconfirmed", "status", "owner"]
    list_filter = ["phase", "priority", "priority_unconfirmed", "status", "category"]
    list_select_related = ["phase", "owner"]
    search_fields = ["code", "title"]
    autocomplete_fields = ["owner"]
    inlines = [DependencyInline, ChecklistItemInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "code",
                    "title",
                    ("priority", "priority_unconfirmed"),
                    ("phase", "document"),
                    "status",
                    ("effort_min_days", "effort_max_days"),
                    "owner",
                ]
            },
        ),
        (
            "Finding overview",
            {"fields": ["problem_statement", "root_cause", "impact", "integration_points"]},
        ),
        (
            "Implementation plan",
            {"fields": ["migration_sql", "go_implementation", "database_tests", "rollback_sql"]},
        ),
        (
            "Success criteria",
            {
                "fields": [
                    "success_functional",
                    "success_performance",
                    "success_security",
                    "success_integration",
                ]
            },
        ),
    ]

    def signed_phase_of(self, obj) -> Phase | None:
        return obj.phase

    def save_model(self, request, obj, form, change):
        context = ActionContext.from_request(request)
        try:
            if change:
                finding_update(finding=obj, context=context)
            else:
                fields = finding_snapshot(obj)
                created = finding_create(context=context, **_as_model_values(fields))
                obj.pk, obj.version = created.pk, created.version
                obj._state.adding = False
        except ValidationError as error:
            # A change committed since the form was checked, such as a revoked signoff.
            raise SaveRefused(f"Nothing was saved: {'; '.join(_messages_of(error))}") from error

    def delete_model(self, request, obj):
        finding_delete(finding=obj, context=ActionContext.from_request(request))

    def delete_queryset(self, request, queryset):
        for finding in queryset:
            self.delete_model(request, finding)

    def save_formset(self, request, form, formset, change):
        context = ActionContext.from_request(request)
        is_dependencies = formset.model is Dependency
        save = _save_dependency_formset if is_dependencies else _save_checklist_formset
        try:
            save(formset, context)
        except (ValidationError, PermissionDenied) as error:
            raise SaveRefused(f"Nothing was saved: {'; '.join(_messages_of(error))}") from error


@admin.register(ApiToken)
class ApiTokenAdmin(SaveRefusedMixin, TolerantAutocompleteMixin, admin.ModelAdmin):
    """Tokens of every user; an admin makes service accounts' tokens here. A token is created
    and revoked through the service, so both are audited, and never edited or deleted.
    """

    list_display = [
        "name",
        "user",
        "prefix",
        "scope",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username"]
    autocomplete_fields = ["user"]
    fields = ["user", "name", "scope", "expires_at"]
    actions = ["revoke_tokens"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [*self.fields, "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) or self.fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            token, raw = token_create(
                user=obj.user,
                name=obj.name,
                scope=obj.scope,
                expires_at=obj.expires_at,
                context=ActionContext.from_request(request),
            )
        except (PermissionDenied, ValidationError) as error:
            raise SaveRefused(f"No token was made: {'; '.join(_messages_of(error))}") from error
        obj.pk, obj.prefix, obj.digest, obj.created_at = (
            token.pk,
            token.prefix,
            token.digest,
            token.created_at,
        )
        messages.warning(
            request,
            f"The token for {token.user.get_username()} is {raw} . Copy it now: it is stored "
            "hashed and will not be shown again.",
        )

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        context = ActionContext.from_request(request)
        for token_id in queryset.values_list("pk", flat=True):
            token_revoke(token_id=token_id, context=context)
        messages.success(request, "The selected tokens are revoked.")


def _as_model_values(snapshot: dict) -> dict:
    """Turn a snapshot keyed by field name with raw ids into keyword arguments for the model."""
    return {Finding._meta.get_field(name).attname: value for name, value in snapshot.items()}


def _messages_of(error: Exception) -> list[str]:
    return error.messages if isinstance(error, ValidationError) else [str(error)]


def _save_dependency_formset(formset, context: ActionContext) -> None:
    # commit=False writes nothing; it sorts the rows into new, changed and deleted objects.
    formset.save(commit=False)
    for dependency in formset.deleted_objects:
        dependency_remove(dependency=dependency, context=context)
    for dependency, _ in formset.changed_objects:
        # Changing a row's target is a removal of the old dependency and an addition.
        dependency_remove(dependency=Dependency.objects.get(pk=dependency.pk), context=context)
        dependency_add(finding=formset.instance, depends_on=dependency.depends_on, context=context)
    for dependency in formset.new_objects:
        dependency_add(finding=formset.instance, depends_on=dependency.depends_on, context=context)


def _save_checklist_formset(formset, context: ActionContext) -> None:
    formset.save(commit=False)
    for item in formset.deleted_objects:
        checklist_item_delete(item=item, context=context)
    for item in [*(item for item, _ in formset.changed_objects), *formset.new_objects]:
        item.finding = formset.instance
        checklist_item_save(item=item, context=context)


class CatalogueAdmin(admin.ModelAdmin):
    """Phases and documents: plain edits, saved and deleted through the audited services."""

    def save_model(self, request, obj, form, change):
        catalogue_object_save(obj=obj, context=ActionContext.from_request(request))

    def delete_model(self, request, obj):
        catalogue_object_delete(obj=obj, context=ActionContext.from_request(request))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Phase)
class PhaseAdmin(CatalogueAdmin):
    list_display = ["code", "name", "priority_band", "folder_name", "order", "requires_signoff"]
    ordering = ["order"]


@admin.register(TacticalDocument)
class TacticalDocumentAdmin(CatalogueAdmin):
    list_display = ["sequence", "file_name", "phase", "title"]
    list_filter = ["phase"]
    list_select_related = ["phase"]
    search_fields = ["file_name", "title"]


@admin.register(Dependency)
class DependencyAdmin(SignedPhaseMixin, TolerantAutocompleteMixin, admin.ModelAdmin):
    list_display = ["finding", "depends_on"]
    list_select_related = ["finding", "depends_on"]
    search_fields = ["finding__code", "depends_on__code"]
    autocomplete_fields = ["finding", "depends_on"]

    def signed_phase_of(self, obj) -> Phase | None:
        # A dependency is part of its finding's phase's approved content, not of the other's.
        return obj.finding.phase

    def save_model(self, request, obj, form, change):
        context = ActionContext.from_request(request)
        if change:
            dependency_remove(dependency=Dependency.objects.get(pk=obj.pk), context=context)
        created = dependency_add(finding=obj.finding, depends_on=obj.depends_on, context=context)
        obj.pk = created.pk

    def delete_model(self, request, obj):
        dependency_remove(dependency=obj, context=ActionContext.from_request(request))

    def delete_queryset(self, request, queryset):
        for dependency in queryset.select_related("finding", "depends_on"):
            self.delete_model(request, dependency)


@admin.register(ChecklistItem)
class ChecklistItemAdmin(
    SignedPhaseMixin, SaveRefusedMixin, TolerantAutocompleteMixin, admin.ModelAdmin
):
    list_display = ["finding", "position", "key", "section", "text", "checked", "checked_by"]
    list_filter = ["section", "checked", "finding__phase"]
    list_select_related = ["finding", "checked_by"]
    search_fields = ["finding__code", "key", "text"]
    # The key is given once and kept; the evidence is what the last tick or untick reported.
    readonly_fields = [
        "key",
        "checked",
        "checked_by",
        "checked_at",
        "evidence_url",
        "evidence_commit",
        "evidence_summary",
    ]
    autocomplete_fields = ["finding"]

    def signed_phase_of(self, obj) -> Phase | None:
        return obj.finding.phase

    def save_model(self, request, obj, form, change):
        try:
            checklist_item_save(item=obj, context=ActionContext.from_request(request))
        except ValidationError as error:
            raise SaveRefused(f"Nothing was saved: {'; '.join(_messages_of(error))}") from error

    def delete_model(self, request, obj):
        checklist_item_delete(item=obj, context=ActionContext.from_request(request))

    def delete_queryset(self, request, queryset):
        for item in queryset.select_related("finding"):
            self.delete_model(request, item)


@admin.register(Signoff)
class SignoffAdmin(admin.ModelAdmin):
    """Signoffs are made and revoked on the phase page, under the signoff rules; here, only read."""

    list_display = ["phase", "signed_by", "signed_at", "revoked_by", "revoked_at"]
    list_filter = ["phase"]
    list_select_related = ["phase", "signed_by", "revoked_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_username", "action", "object_repr", "permission"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "actor_username", "request_id"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SentListFilter(admin.SimpleListFilter):
    title = "delivery"
    parameter_name = "sent"

    def lookups(self, request, model_admin):
        return [("no", "Unsent"), ("yes", "Sent")]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(sent_at__isnull=self.value() == "no")
        return queryset


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox, read only: `manage.py send_notifications` sends and retries its messages."""

    list_display = [
        "recipient",
        "kind",
        "subject",
        "created_at",
        "attempts",
        "sent_at",
        "last_error",
    ]
    list_filter = [SentListFilter, "kind"]
    list_select_related = ["recipient"]
    search_fields = ["to_address", "subject"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
