from django.core.management.base import BaseCommand

from findings.services.audit import ActionContext
from findings.services.catalogue import catalogue_load


class Command(BaseCommand):
    help = "Load the phases, findings, documents and checklists of the seed plan (idempotent)."

    def handle(self, *args, **options):
        report = catalogue_load(context=ActionContext.system("load_catalogue"))
        self.stdout.write(str(report))
