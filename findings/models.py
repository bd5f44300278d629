import re
from collections import deque

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Substr
from django.urls import reverse
from django.utils import timezone

FINDING_CODE_PATTERN = r"^(SI|BF|BL)-\d{3}$"

validate_finding_code = RegexValidator(
    FINDING_CODE_PATTERN,
    message="A finding code is SI, BF or BL, a hyphen and three digits, like SI-001.",
    code="invalid_finding_code",
)

# What breaks a line wherever a one-line field is shown or exported: the C0 and C1 controls (tab,
# line feed and carriage return among them), DEL, and Unicode's line and paragraph separators.
LINE_BREAKING_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def validate_single_line(value: str) -> None:
    found = LINE_BREAKING_CHARACTER.search(value)
    if found:
        raise ValidationError(
            "This field is one line of text: line breaks, tabs and other control characters "
            "are not allowed (found %(character)s).",
            code="not_single_line",
            params={"character": ascii(found.group())},
        )


# One path component that stays inside the exported tree: no separator, no leading dot.
PLAIN_NAME_PATTERN = r"(?!\.)[A-Za-z0-9._-]+"

validate_folder_name = RegexValidator(
    rf"\A{PLAIN_NAME_PATTERN}\Z",
    message=(
        "A folder name is one plain name: letters, digits, '.', '_' and '-', not starting with "
        "a dot, with no '/' or '\\'."
    ),
    code="invalid_folder_name",
)

# Also what the document page's URL converter accepts, so every document has a page.
validate_document_file_name = RegexValidator(
    r"\A[A-Za-z0-9_-]{1,90}\.md\Z",
    message=(
        "A document's file name is one plain name ending in .md: up to 90 letters, digits, '_' "
        "and '-' before the .md, with no '/', '\\', leading dot or '..'."
    ),
    code="invalid_document_file_name",
)


class PriorityBand(models.TextChoices):
    CRITICAL = "CRITICAL", "CRITICAL"
    HIGH = "HIGH", "HIGH"
    HIGH_MEDIUM = "HIGH/MEDIUM", "HIGH/MEDIUM"
    MEDIUM_LOW = "MEDIUM/LOW", "MEDIUM/LOW"


class Priority(models.TextChoices):
    CRITICAL = "CRITICAL", "Critical"
    HIGH = "HIGH", "High"
    MEDIUM = "MEDIUM", "Medium"
    LOW = "LOW", "Low"


class Category(models.TextChoices):
    # The seed names the prefixes but never spells them out, so neither do we.
    SI = "SI", "SI"
    BF = "BF", "BF"
    BL = "BL", "BL"


class Status(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    IN_REVIEW = "in_review", "In review"
    DONE = "done", "Done"
    COMPLETED = "completed", "Completed before this plan"


class Phase(models.Model):
    code = models.CharField(max_length=2, unique=True)
    name = models.CharField(max_length=50, validators=[validate_single_line])
    priority_band = models.CharField(max_length=11, choices=PriorityBand.choices)
    folder_name = models.CharField(
        max_length=100, unique=True, validators=[validate_single_line, validate_folder_name]
    )
    order = models.PositiveSmallIntegerField(unique=True)
    requires_signoff = models.BooleanField(
        default=False, help_text="The phase ends in a mandatory signoff gate."
    )
    # When its eligible signers were told the phase is ready to sign, so each becoming-ready is
    # announced once; cleared when the phase is found not ready (findings.services.phase_news).
    ready_announced_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return f"Phase {self.code} {self.name}"


class TacticalDocument(models.Model):
    file_name = models.CharField(
        max_length=100,
        unique=True,
        validators=[validate_single_line, validate_document_file_name],
    )
    phase = models.ForeignKey(Phase, on_delete=models.PROTECT, related_name="documents")
    sequence = models.PositiveSmallIntegerField(
        unique=True, help_text="Its step in the seed's document generation sequence."
    )
    title = models.CharField(max_length=200, validators=[validate_single_line])

    class Meta:
        ordering = ["sequence"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def path(self) -> str:
        return f"{self.phase.folder_name}/{self.file_name}"


class Finding(models.Model):
    code = models.CharField(max_length=6, unique=True, validators=[validate_finding_code])
    category = models.GeneratedField(
        expression=Substr("code", 1, 2),
        output_field=models.CharField(max_length=2, choices=Category.choices),
        db_persist=True,
    )
    title = models.CharField(max_length=200, validators=[validate_single_line])
    priority = models.CharField(max_length=8, choices=Priority.choices, blank=True)
    priority_unconfirmed = models.BooleanField(
        default=False,
        help_text="The seed gives only its phase's band; the priority awaits triage.",
    )
    phase = models.ForeignKey(
        Phase, on_delete=models.PROTECT, related_name="findings", null=True, blank=True
    )
    document = models.ForeignKey(
        TacticalDocument,
        on_delete=models.SET_NULL,
        related_name="findings",
        null=True,
        blank=True,
    )
    status = models.CharField(max_length=11, choices=Status.choices, default=Status.PLANNED)
    effort_min_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    effort_max_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_findings",
    )

    problem_statement = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    impact = models.TextField("security/performance impact", blank=True)
    integration_points = models.TextField(blank=True)

    migration_sql = models.TextField("PostgreSQL migration", blank=True)
    go_implementation = models.TextField("Go implementation", blank=True)
    database_tests = models.TextField("real-database tests", blank=True)
    success_functional = models.TextField("functional success criteria", blank=True)
    success_performance = models.TextField("performance success criteria", blank=True)
    success_security = models.TextField("security success criteria", blank=True)
    success_integration = models.TextField("integration success criteria", blank=True)
    rollback_sql = models.TextField("rollback SQL", blank=True)

    version = models.PositiveIntegerField(default=1, editable=False)
    # Counts changes of the written content (the document's sections) alone, so an editor or an
    # exported document can tell whether the text it started from is still current.
    content_version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # How far an unfinished finding has got, most advanced first; NULL once it is finished. The
    # dashboard reads each phase's next findings from an index on it instead of ranking them all.
    progress_rank = models.GeneratedField(
        expression=models.Case(
            models.When(status=Status.IN_REVIEW, then=models.Value(0)),
            models.When(status=Status.IN_PROGRESS, then=models.Value(1)),
            models.When(status=Status.PLANNED, then=models.Value(2)),
        ),
        output_field=models.PositiveSmallIntegerField(null=True),
        db_persist=True,
    )

    class Meta:
        ordering = ["code"]
        indexes = [
            models.Index(fields=["phase", "progress_rank", "code"], name="finding_phase_next_idx"),
            models.Index(
                fields=["code"],
                condition=models.Q(status=Status.COMPLETED),
                name="finding_completed_code_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(effort_min_days__isnull=True, effort_max_days__isnull=True)
                    | models.Q(
                        effort_min_days__isnull=False,
                        effort_max_days__isnull=False,
                        effort_min_days__gte=1,
                        effort_max_days__gte=models.F("effort_min_days"),
                    )
                ),
                name="finding_effort_is_a_range",
                violation_error_message=(
                    "Estimated effort needs both a minimum and a maximum of at least one whole "
                    "day, with the minimum no greater than the maximum."
                ),
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(status=Status.COMPLETED, phase__isnull=True)
                    | (~models.Q(status=Status.COMPLETED) & models.Q(phase__isnull=False))
                ),
                name="finding_in_plan_has_phase",
                violation_error_message=(
                    "A finding in the plan needs a phase; only a finding completed before the "
                    "plan has none."
                ),
            ),
        ]
        permissions = [
            ("change_finding_status", "Can move a finding through its lifecycle"),
            ("edit_content", "Can write a finding's tactical document sections"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("finding_detail", kwargs={"code": self.code})

    @property
    def has_effort_estimate(self) -> bool:
        return self.effort_min_days is not None

    def clean(self) -> None:
        has_min = self.effort_min_days is not None
        has_max = self.effort_max_days is not None
        if has_min != has_max:
            raise ValidationError(
                {"effort_max_days": "Give both a minimum and a maximum effort, or neither."}
            )
        if has_min and self.effort_min_days > self.effort_max_days:
            raise ValidationError(
                {
                    "effort_max_days": (
                        f"The maximum effort ({self.effort_max_days} days) is less than the "
                        f"minimum ({self.effort_min_days} days)."
                    )
                }
            )


class DependencyQuerySet(models.QuerySet):
    def cycle_through(self, *, finding_id: int, depends_on_id: int) -> list[str]:
        """The codes along the cycle that `finding depends on depends_on` would close, or [].

        The path runs finding → depends_on → … → finding, following the dependencies of this
        queryset. The model's validation and the dependency service both ask it.
        """
        edges: dict[int, list[int]] = {}
        for source, target in self.values_list("finding_id", "depends_on_id"):
            edges.setdefault(source, []).append(target)
        came_from = {depends_on_id: None}
        queue = deque([depends_on_id])
        while queue:
            current = queue.popleft()
            if current == finding_id:
                break
            for following in edges.get(current, ()):
                if following not in came_from:
                    came_from[following] = current
                    queue.append(following)
        else:
            return []
        path = [finding_id]
        step = came_from[finding_id]
        while step is not None:
            path.append(step)
            step = came_from[step]
        path.append(finding_id)
        path.reverse()
        codes = dict(Finding.objects.filter(pk__in=path).values_list("pk", "code"))
        return [codes[pk] for pk in path]


class Dependency(models.Model):
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="dependency_links")
    depends_on = models.ForeignKey(
        Finding, on_delete=models.PROTECT, related_name="dependant_links"
    )

    objects = DependencyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "dependencies"
        ordering = ["finding__code", "depends_on__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["finding", "depends_on"],
                name="dependency_is_unique",
                violation_error_message="This dependency is already recorded.",
            ),
            models.CheckConstraint(
                condition=~models.Q(finding=models.F("depends_on")),
                name="dependency_not_on_itself",
                violation_error_message="A finding cannot depend on itself.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.finding.code} depends on {self.depends_on.code}"

    def clean(self) -> None:
        if self.finding_id is None or self.depends_on_id is None:
            return
        if self.finding_id == self.depends_on_id:
            raise ValidationError({"depends_on": "A finding cannot depend on itself."})
        cycle = Dependency.objects.cycle_through(
            finding_id=self.finding_id, depends_on_id=self.depends_on_id
        )
        if cycle:
            raise ValidationError({"depends_on": cycle_message(cycle)})
        problems = dependency_problems(finding=self.finding, depends_on=self.depends_on)
        if problems:
            raise ValidationError({"depends_on": problems})


def cycle_message(cycle: list[str]) -> str:
    return "This dependency would make a cycle: " + " → ".join(cycle) + "."


FUTURE_DEPENDENCY_RULE = (
    "No dependency into the future: a finding may depend only on findings of its own phase, of "
    "an earlier phase, or completed before the plan."
)


def depends_into_future(*, finding: Finding, depends_on: Finding) -> bool:
    """Whether `finding` depending on `depends_on` would wait on a later phase.

    Such a phase stays locked until the finding's own phase is signed off, which in turn waits
    on the dependency: a deadlock. Each finding's phase is read, so select it beforehand.
    """
    if depends_on.phase_id is None:
        return False
    return finding.phase_id is None or depends_on.phase.order > finding.phase.order


def _placed(finding: Finding) -> str:
    if finding.phase_id is None:
        return f"{finding.code}, completed before the plan,"
    return f"{finding.code} in phase {finding.phase.code}"


def future_dependency_message(*, finding: Finding, depends_on: Finding) -> str:
    return f"{_placed(finding)} would depend on {_placed(depends_on)}. {FUTURE_DEPENDENCY_RULE}"


def dependency_problems(*, finding: Finding, depends_on: Finding) -> list[str]:
    """Why `finding` may not depend on `depends_on`, besides a cycle; empty when it may.

    The phase sequence forbids a dependency into the future, and a done finding keeps meeting
    its done gate, so it takes no unfinished dependency. The model's validation and the
    dependency service both ask it.
    """
    problems = []
    if depends_into_future(finding=finding, depends_on=depends_on):
        problems.append(future_dependency_message(finding=finding, depends_on=depends_on))
    if finding.status == Status.DONE and depends_on.status not in (Status.DONE, Status.COMPLETED):
        problems.append(
            f"{finding.code} is done, and a done finding depends only on finished findings; "
            f"{depends_on.code} is {depends_on.get_status_display().lower()}. "
            f"Move {finding.code} back to in review first."
        )
    return problems


class PhaseProgress(models.Model):
    """A phase's progress figures as its card shows them, one row per phase.

    Only the database triggers of migration 0003 write these rows, on every change of findings,
    checklist items, dependencies and phases, so the figures hold whichever way rows change. On
    SQLite a table rebuild by a later migration of those tables would drop the triggers, and
    tests/services/test_phase_progress.py would fail.
    """

    phase = models.OneToOneField(
        Phase, on_delete=models.CASCADE, primary_key=True, related_name="progress"
    )
    findings_total = models.PositiveIntegerField(default=0)
    findings_done = models.PositiveIntegerField(default=0)
    # Sums over the findings not done; only those with an estimate count in the effort.
    remaining_effort_min = models.PositiveIntegerField(default=0)
    remaining_effort_max = models.PositiveIntegerField(default=0)
    remaining_estimated = models.PositiveIntegerField(default=0)
    items_total = models.PositiveIntegerField(default=0)
    items_ticked = models.PositiveIntegerField(default=0)
    # Dependencies of the phase's findings on unfinished findings of other phases.
    outside_dependencies_open = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "phase progress"

    def __str__(self) -> str:
        return f"Progress of phase {self.phase_id}"


class ChecklistSection(models.TextChoices):
    MANDATORY = "mandatory", "Mandatory Checks"
    DATABASE = "database", "Database Validation"
    INTEGRATION = "integration", "Integration Validation"


class ChecklistItem(models.Model):
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="checklist_items")
    section = models.CharField(max_length=11, choices=ChecklistSection.choices)
    text = models.CharField(max_length=500)
    position = models.PositiveSmallIntegerField()
    # The standard item whose text names the finding's dependencies is rewritten when they change.
    names_dependencies = models.BooleanField(default=False, editable=False)
    checked = models.BooleanField(default=False)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    # How scripts name the item (findings.item_keys): given once, so it survives rewording.
    key = models.SlugField(max_length=50, editable=False)
    # What a pipeline's tick or untick reported: the run, the commit and a line about the result.
    evidence_url = models.URLField(max_length=500, blank=True, default="")
    evidence_commit = models.CharField(max_length=64, blank=True, default="")
    evidence_summary = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["finding", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["finding", "position"],
                name="checklist_item_position_is_unique",
                violation_error_message="Another item of this finding has this position.",
            ),
            models.UniqueConstraint(
                fields=["finding", "key"],
                name="checklist_item_key_is_unique",
                violation_error_message="Another item of this finding has this key.",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(checked=True, checked_at__isnull=False)
                    | models.Q(checked=False, checked_at__isnull=True, checked_by__isnull=True)
                ),
                name="checklist_item_check_is_attributed",
                violation_error_message="A ticked item records when it was ticked; an unticked "
                "item records no one.",
            ),
        ]
        permissions = [("tick_checklistitem", "Can tick and untick checklist items")]

    def __str__(self) -> str:
        return f"{self.finding.code} #{self.position}: {self.text}"


class SignoffQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class Signoff(models.Model):
    phase = models.ForeignKey(Phase, on_delete=models.PROTECT, related_name="signoffs")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField()
    comment = models.TextField(blank=True)
    # What the signer approved: a digest of the phase's content and the content itself, so a later
    # change can be detected whichever way it was made, and shown.
    fingerprint = models.CharField(max_length=64)
    approved_content = models.JSONField(default=dict)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.TextField(blank=True)
    revoked_automatically = models.BooleanField(
        default=False, help_text="Revoked because the approved content changed."
    )

    objects = SignoffQuerySet.as_manager()

    class Meta:
        ordering = ["-signed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["phase"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_signoff_per_phase",
                violation_error_message="This phase already has an active signoff.",
            ),
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True) | ~models.Q(revoke_reason=""),
                name="signoff_revocation_has_reason",
                violation_error_message="A revocation needs a reason.",
            ),
        ]
        permissions = [("sign_off_phase", "Can sign off and revoke phase signoffs")]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"Signoff of phase {self.phase.code} ({state})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiTokenScope(models.TextChoices):
    READ = "read", "Read"
    TICK = "tick", "Read and tick"


class ApiToken(models.Model):
    """A bearer token for the API (findings.services.tokens). Only a digest of it is stored: the
    raw token is shown once, when it is created.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, validators=[validate_single_line])
    # The first characters after "dft_", so a listing tells tokens apart without revealing them.
    prefix = models.CharField(max_length=8)
    digest = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=4, choices=ApiTokenScope.choices)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} (dft_{self.prefix}…)"

    def is_usable(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events are append-only: they cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit events are append-only: they cannot be deleted.")

    def bulk_create(self, *args, **kwargs):
        raise AppendOnlyError("Audit events join the hash chain one by one, through audit_record.")

    # bulk_update goes through update(), so it is refused too.


GENESIS_HASH = "0" * 64


class AuditChainHead(models.Model):
    """The newest link of the audit hash chain.

    Every append locks this single row, so concurrent writers queue and the chain never forks;
    it also remembers the last link, so deleting the newest events is detected.
    """

    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"Audit chain head at event {self.sequence}"


class AuditEvent(models.Model):
    # Database triggers (migration 0002) refuse UPDATE and DELETE on these rows; on SQLite a table
    # rebuild by a later migration would drop them, and tests/audit/test_audit_triggers.py would
    # fail.
    sequence = models.BigIntegerField(unique=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # Which AUDIT_CHAIN_KEY signed the hash (findings.audit_chain.chain_key_id). Nullable with no
    # default so that adding it did not rebuild the table on SQLite, dropping its triggers.
    key_id = models.CharField(max_length=16, null=True)  # noqa: DJ001
    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept apart from the foreign key so the record still reads right if the user is renamed.
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=50, db_index=True)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    finding = models.ForeignKey(
        Finding, on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    permission = models.CharField(max_length=100)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["finding", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr} by {self.actor_username or 'system'}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only: they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only: they cannot be deleted.")


class LoginLockoutWindow(models.Model):
    """The refused logins from one address within one cool-off, counted against one audit event.

    Audit events cannot change, so the count that grows after the event lives here. A window
    with `over_limit` counts the lockouts from every address beyond the events audited per
    cool-off.
    """

    ip_address = models.GenericIPAddressField(null=True, blank=True)
    over_limit = models.BooleanField(default=False)
    started_at = models.DateTimeField(db_index=True)
    event = models.OneToOneField(
        AuditEvent, on_delete=models.CASCADE, related_name="lockout_window"
    )
    lockouts = models.PositiveIntegerField(default=1)
    # The first few distinct usernames tried, so the row stays small whatever is posted.
    usernames = models.JSONField(default=list)

    class Meta:
        indexes = [
            models.Index(fields=["ip_address", "started_at"], name="lockout_window_address_idx")
        ]

    def __str__(self) -> str:
        return f"{self.lockouts} lockouts from {self.ip_address or 'many addresses'}"


class NotificationKind(models.TextChoices):
    READY_TO_SIGN = "ready_to_sign", "A phase became ready to sign off"
    SIGNOFF_REQUESTED = "signoff_requested", "Someone requested a phase's signoff"
    SIGNED = "signed", "A phase was signed off"
    REVOKED = "revoked", "A phase's signoff was revoked"


class NotificationSetting(models.Model):
    """A user's choice to receive one kind of notification or not; no row means they receive it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"], name="notification_setting_is_unique_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {'on' if self.enabled else 'off'}"


class Notification(models.Model):
    """One email in the outbox. It is written in the transaction of the change it tells of, so
    it exists exactly when the change committed, and a sender (`manage.py send_notifications`)
    delivers it afterwards.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    to_address = models.EmailField()
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    phase = models.ForeignKey(
        Phase, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # Delivery: when the next attempt may start, how many started, and until when the sender
    # that claimed the message holds it.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(sent_at__isnull=True),
                name="notification_unsent_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_address}: {self.subject}"
