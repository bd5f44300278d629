"""The pages that the layout, accessibility and crawler tests visit, with each one's heading."""

from typing import NamedTuple


class SitePage(NamedTuple):
    name: str
    path: str
    heading: str


LOGGED_IN_PAGES = [
    SitePage("dashboard", "/", "Where the audit stands"),
    SitePage("findings-table", "/findings/", "Findings"),
    SitePage(
        "finding", "/findings/SI-001/", "SI-001 Enhanced Transaction Management Anti-patterns"
    ),
    SitePage("phase", "/phases/2A/", "Phase 2A · Foundation"),
    SitePage("audit", "/audit/", "Audit log"),
    SitePage("documents", "/documents/", "Tactical documents"),
    SitePage("document", "/documents/README.md/", "README.md"),
    SitePage("settings", "/settings/", "Settings"),
]
LOGIN_PAGE = SitePage("login", "/accounts/login/", "Log in")
