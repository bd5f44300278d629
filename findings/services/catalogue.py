from dataclasses import dataclass, field

from findings import seed
from findings.models import Finding, Phase, Status, TacticalDocument
from findings.services.audit import ActionContext, audit_record, permission_used
from findings.services.findings import finding_create
from findings.services.protocol import phase_change
from findings.services.signoffs import phase_gate_set


@dataclass
class CatalogueReport:
    created: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.created:
            return "The catalogue is already loaded: nothing changed."
        return f"Created {len(self.created)}: " + ", ".join(self.created)


def catalogue_load(*, context: ActionContext) -> CatalogueReport:
    """Create whatever part of the seeded catalogue is missing, and never touch what exists.

    Admins edit the catalogue after loading it, so existing rows are left exactly as they are:
    running the load again changes nothing.
    """
    permission = permission_used(context, "findings.add_finding")
    report = CatalogueReport()
    # Every phase up front: locking each finding's phase later, with the chain head held,
    # would take the locks out of order. Phases created here are invisible to others. Each
    # finding's creation revalidates its own phase.
    every_phase = Phase.objects.values_list("pk", flat=True)
    with phase_change(phase_ids=every_phase, context=context, revalidate=False):
        phases = {fact.code: _phase(fact, context, permission, report) for fact in seed.PHASES}
        for code in seed.COMPLETED_FINDINGS:
            _finding(
                context,
                report,
                code=code,
                title=seed.TITLE_PLACEHOLDER,
                status=Status.COMPLETED,
            )
        foundations = list(Finding.objects.filter(code__in=seed.FOUNDATION_FINDINGS))
        for fact in seed.DOCUMENTS:
            phase_fact = next(p for p in seed.PHASES if p.code == fact.phase_code)
            document = _document(fact, phases[fact.phase_code], context, permission, report)
            for code in fact.finding_codes:
                _finding(
                    context,
                    report,
                    depends_on=foundations,
                    code=code,
                    title=fact.title if len(fact.finding_codes) == 1 else seed.TITLE_PLACEHOLDER,
                    phase=phases[fact.phase_code],
                    document=document,
                    priority=phase_fact.default_priority,
                    priority_unconfirmed=phase_fact.priority_unconfirmed,
                    migration_sql=seed.POSTGRESQL_PATTERNS.get(code, ""),
                )
    return report


def _phase(fact, context, permission, report) -> Phase:
    phase = Phase.objects.filter(code=fact.code).first()
    if phase is None:
        phase = Phase.objects.create(
            code=fact.code,
            name=fact.name,
            priority_band=fact.priority_band,
            folder_name=fact.folder_name,
            order=fact.order,
            requires_signoff=fact.requires_signoff,
        )
        audit_record(context=context, action="phase.created", obj=phase, permission=permission)
        report.created.append(str(phase))
    return phase


def _document(fact, phase, context, permission, report) -> TacticalDocument:
    document = TacticalDocument.objects.filter(file_name=fact.file_name).first()
    if document is None:
        document = TacticalDocument.objects.create(
            file_name=fact.file_name, phase=phase, sequence=fact.sequence, title=fact.title
        )
        audit_record(
            context=context, action="document.created", obj=document, permission=permission
        )
        report.created.append(document.file_name)
    return document


def _finding(context, report, **fields) -> None:
    if not Finding.objects.filter(code=fields["code"]).exists():
        finding_create(context=context, **fields)
        report.created.append(fields["code"])


def _field_values(obj: Phase | TacticalDocument) -> dict:
    return {
        field.attname: getattr(obj, field.attname)
        for field in obj._meta.concrete_fields
        if field.editable and not field.primary_key
    }


def catalogue_object_save(
    *, obj: Phase | TacticalDocument, context: ActionContext
) -> Phase | TacticalDocument:
    """Save an admin's new or edited phase or document, recording what changed.

    Changing whether a phase is gated is an action of its own (phase_gate_set), audited and
    followed through apart from the phase's other fields.
    """
    adding = obj._state.adding
    model_name = obj._meta.model_name
    permission = permission_used(context, f"findings.{'add' if adding else 'change'}_{model_name}")
    obj.full_clean()
    # A phase's gate and order decide whether the phases after it are locked. A document's
    # edits wait on the audit chain's head, as every audited write does, so its stored fields
    # are read plainly.
    phase_ids = Phase.objects.values_list("pk", flat=True) if isinstance(obj, Phase) else []
    with phase_change(phase_ids=phase_ids, context=context, revalidate=False):
        before = None
        if not adding:
            before = _field_values(type(obj).objects.get(pk=obj.pk))
        after = _field_values(obj)
        changed = [name for name in after if before is None or before[name] != after[name]]
        if isinstance(obj, Phase) and not adding and "requires_signoff" in changed:
            phase_gate_set(phase=obj, requires_signoff=obj.requires_signoff, context=context)
            changed.remove("requires_signoff")
        if not changed:
            return obj
        obj.save()
        audit_record(
            context=context,
            action=f"{model_name}.{'created' if adding else 'updated'}",
            obj=obj,
            permission=permission,
            before={name: before[name] for name in changed} if before else None,
            after={name: after[name] for name in changed},
        )
    return obj


def catalogue_object_delete(*, obj: Phase | TacticalDocument, context: ActionContext) -> None:
    model_name = obj._meta.model_name
    permission = permission_used(context, f"findings.delete_{model_name}")
    phase_id = obj.pk if isinstance(obj, Phase) else obj.phase_id
    with phase_change(phase_ids=[phase_id], context=context, revalidate=False):
        audit_record(
            context=context,
            action=f"{model_name}.deleted",
            obj=obj,
            permission=permission,
            before=_field_values(obj),
        )
        obj.delete()
