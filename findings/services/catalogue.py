from dataclasses import dataclass, field

from django.db import transaction

from findings import seed
from findings.models import Finding, Phase, Status, TacticalDocument
from findings.services.audit import ActionContext, audit_record, permission_used
from findings.services.findings import finding_create


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
    with transaction.atomic():
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
