"""The django-filter FilterSets of the findings list and the audit log."""

from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_filters.widgets import BooleanWidget

from findings.audit_display import action_name
from findings.gates import FINISHED, unsigned_gates_before
from findings.models import AuditEvent, Category, Dependency, Phase, Priority, Status

SYSTEM_ACTOR = "system"


class PlainSelect(forms.Select):
    """A select drawn in Python rather than by Django's widget templates.

    Those templates include a template per option and another for its attributes, which cost
    more than the rest of the filter form. The elements and attributes are the same, for
    choices without groups (ours have none).
    """

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "\n",
            '<option value="{}"{}>{}</option>',
            (
                (option["value"], flatatt(option["attrs"]), option["label"])
                for _, group, _ in widget["optgroups"]
                for option in group
            ),
        )
        return format_html(
            '<select name="{}"{}>\n{}\n</select>', name, flatatt(widget["attrs"]), options
        )


class AnyYesNoWidget(BooleanWidget, PlainSelect):
    """A yes/no select whose empty choice reads "Any"; unknown values mean "any"."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]


class DatePicker(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        # A date input's value must be ISO, whatever the locale's display format.
        super().__init__(attrs, format="%Y-%m-%d")


def start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def ready_to_start() -> Q:
    """Findings that may move to in progress now: planned, every dependency done or completed
    before the plan, and their phase not locked by an unsigned gate before it.
    """
    unfinished_dependency = Dependency.objects.filter(finding=OuterRef("pk")).exclude(
        depends_on__status__in=FINISHED
    )
    locking_gate = unsigned_gates_before(OuterRef("phase__order"))
    return Q(status=Status.PLANNED) & ~Exists(unfinished_dependency) & ~Exists(locking_gate)


class FindingFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_text",
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Code or title"}),
    )
    phase = django_filters.ModelChoiceFilter(
        queryset=Phase.objects.order_by("order"),
        to_field_name="code",
        empty_label="Any",
        widget=PlainSelect,
    )
    priority = django_filters.ChoiceFilter(
        choices=Priority.choices, empty_label="Any", widget=PlainSelect
    )
    priority_unconfirmed = django_filters.BooleanFilter(
        label="Priority unconfirmed", widget=AnyYesNoWidget
    )
    status = django_filters.ChoiceFilter(
        choices=Status.choices, empty_label="Any", widget=PlainSelect
    )
    category = django_filters.ChoiceFilter(
        choices=Category.choices, empty_label="Any", widget=PlainSelect
    )
    # Only users who own a finding, so the choice list grows with owners, not with all accounts.
    owner = django_filters.ModelChoiceFilter(
        queryset=get_user_model()
        .objects.filter(owned_findings__isnull=False)
        .distinct()
        .order_by("username"),
        to_field_name="username",
        empty_label="Any",
        null_label="Nobody",
        widget=PlainSelect,
    )
    ready = django_filters.BooleanFilter(
        label="Ready to start", method="filter_ready", widget=AnyYesNoWidget
    )

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(code__icontains=value) | Q(title__icontains=value))

    def filter_ready(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(ready_to_start()) if value else queryset.exclude(ready_to_start())


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=(), empty_label="Any", widget=PlainSelect)
    actor = django_filters.CharFilter(
        label="Actor",
        method="filter_actor",
        max_length=150,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Username"}),
    )
    finding = django_filters.CharFilter(
        label="Finding",
        field_name="finding__code",
        lookup_expr="icontains",
        max_length=6,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "SI-001"}),
    )
    # Two plain date filters rather than one range filter, so each date input has its own label.
    since = django_filters.DateFilter(label="From", method="filter_since", widget=DatePicker)
    until = django_filters.DateFilter(label="To", method="filter_until", widget=DatePicker)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The actions recorded so far, read once per request rather than listed by hand.
        actions = AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
        choices = [(action, action_name(action)) for action in actions]
        self.filters["action"].extra["choices"] = sorted(choices, key=lambda choice: choice[1])

    def filter_actor(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The log shows events with no user as "system", so that name finds them too.
        matches = Q(actor_username__icontains=value)
        if value.lower() == SYSTEM_ACTOR:
            matches |= Q(actor_username="")
        return queryset.filter(matches)

    def filter_since(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(created_at__gte=start_of_day(value))

    def filter_until(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        # Up to the end of that day, so "to today" includes everything recorded today.
        if value == date.max:
            return queryset
        return queryset.filter(created_at__lt=start_of_day(value + timedelta(days=1)))
