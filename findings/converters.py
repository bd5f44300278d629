"""URL converters that only match well-formed identifiers, so anything else is a plain 404.

They keep hostile path segments (NUL bytes, huge numbers, path tricks) away from the database.
"""


class FindingCodeConverter:
    regex = r"(?:SI|BF|BL)-[0-9]{3}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class PhaseCodeConverter:
    regex = r"[0-9][A-Za-z]"

    def to_python(self, value: str) -> str:
        return value.upper()

    def to_url(self, value: str) -> str:
        return value


class DocumentFileConverter:
    regex = r"[A-Za-z0-9_-]{1,90}\.md"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class RowIdConverter:
    """A database id: digits, short enough for a 64-bit column."""

    regex = r"[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
