"""Checklist item keys: the stable names by which a pipeline ticks an item (`go-test-race`).

An item's key is given once, when the item is created (or when a move would clash with an item
of its new finding), and never follows its wording, so a script keeps working after an admin
rewords the item. Migration 0010 gave the items that existed before keys the same way.
"""

from collections.abc import Collection

from django.utils.text import slugify

from findings.seed import STANDARD_CHECKLIST

# The seed's standard checklist, text for text in its order.
STANDARD_ITEM_KEYS = dict(
    zip(
        (text for _section, text in STANDARD_CHECKLIST),
        (
            "go-test-race",
            "golangci-lint",
            "database-integration-tests",
            "performance-benchmarks",
            "no-breaking-api-changes",
            "migration-applies",
            "migration-rollback",
            "database-performance-impact",
            "concurrent-access",
            "dependencies-verified",
            "state-consistency",
            "audit-logging",
            "error-handling",
        ),
        strict=True,
    )
)
# The standard item naming the finding's dependencies is reworded whenever they change, so its
# key cannot come from its current text.
DEPENDENCIES_ITEM_KEY = "dependencies-verified"
KEY_LENGTH = 50
# Room left for a "-2", "-3", … suffix that tells apart items whose texts slug alike.
SLUG_LENGTH = 40


def item_key_for(*, text: str, names_dependencies: bool, taken: Collection[str]) -> str:
    """The key a new item of a finding gets: its standard key, else a slug of its text, with a
    number added when another item of the finding (`taken`) already has it.
    """
    if names_dependencies:
        base = DEPENDENCIES_ITEM_KEY
    else:
        base = STANDARD_ITEM_KEYS.get(text) or slugify(text)[:SLUG_LENGTH].strip("-") or "item"
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}-{number}"
    return key
