"""Document QA: the seed's Validation Criteria, checked without executing anything.

Each exported file is read as markdown: SQL blocks must parse with PostgreSQL's own parser
(pglast), Go blocks with tree-sitter's Go grammar; no template placeholder may be left; every
template section must be there and filled; relative links must resolve inside the tree; fences
must close. Each failure names its file, its template section and its line.
"""

import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

import tree_sitter_go
from pglast import parse_sql
from pglast.parser import ParseError
from tree_sitter import Language, Parser

from findings.export import template
from findings.export.markdown_scan import Scan, scan
from findings.export.structure import structure_problems

CHECKS = {
    "fence": "Fences balanced",
    "sql": "SQL parses",
    "go": "Go parses",
    "placeholder": "No template placeholders",
    "section": "Sections filled",
    "link": "Links resolve",
}
SQL_LANGUAGES = {"sql", "postgresql", "postgres", "pgsql", "plpgsql"}
GO_LANGUAGES = {"go", "golang"}
GO_LANGUAGE = Language(tree_sitter_go.language())
GO_ERRORS_SHOWN = 5

_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_CHECKBOX = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+\[[ xX]\]")
_BRACKETED = re.compile(r"\[([A-Za-z][^\[\]\n]*)\](?!\()")
_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.I)


@dataclass(frozen=True)
class Problem:
    document: str
    section: str
    line: int
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.document}:{self.section}:{self.line}: {self.message}"


def tree_index(paths: list[str]) -> frozenset[str]:
    """Every file and folder of the tree, for resolving links; "." is its root."""
    folders = {posixpath.dirname(path) for path in paths}
    return frozenset({".", *paths, *(folder for folder in folders if folder)})


def file_problems(path: str, text: str, tree: frozenset[str], *, is_document: bool):
    """All QA failures of one exported file, in line order."""
    found = scan(text)
    problems = [
        *_fence_problems(found),
        *_code_problems(found),
        *_placeholder_problems(found),
        *_link_problems(path, found, tree),
    ]
    if is_document:
        problems += structure_problems(found)
    located = [
        Problem(path, found.section_at(line), line, check, message)
        for line, check, message in problems
    ]
    return sorted(located, key=lambda problem: (problem.line, problem.check, problem.message))


def _fence_problems(found: Scan):
    for block in found.blocks:
        if not block.closed:
            yield block.start, "fence", f"the {block.fence} fence opened here is never closed"


def _code_problems(found: Scan):
    for block in found.blocks:
        language = block.language.lower()
        if language in SQL_LANGUAGES:
            problems = sql_errors(block.code)
            name = "sql"
        elif language in GO_LANGUAGES:
            problems = go_errors(block.code)
            name = "go"
        else:
            continue
        for offset, message in problems:
            yield block.start + 1 + offset, name, message


def sql_errors(code: str) -> list[tuple[int, str]]:
    """(0-based line, message) of the SQL's first syntax error, or of its having no statement."""
    return list(_sql_errors(code))


def go_errors(code: str) -> list[tuple[int, str]]:
    """(0-based line, message) of each Go syntax error, at most a few per block.

    A snippet without a package clause is parsed as a file body after `package p`, and failing
    that as a function body, since the template's snippets are both.
    """
    return list(_go_errors(code))


# Most blocks of a large plan are the same skeleton, so identical code is parsed only once.
@lru_cache(maxsize=4096)
def _sql_errors(code: str) -> tuple[tuple[int, str], ...]:
    # pglast's error offsets drift on non-ASCII text; one ASCII letter per character keeps both
    # the grammar (such characters only occur in names, strings and comments) and the offsets.
    ascii_code = re.sub(r"[^\x00-\x7f]", "x", code)
    try:
        statements = parse_sql(ascii_code)
    except ParseError as error:
        message, *location = error.args
        offset = location[0] if location and isinstance(location[0], int) else -1
        line = ascii_code[: max(offset, 0)].count("\n")
        return ((line, f"SQL does not parse: {message}"),)
    if not statements:
        return ((0, "the SQL block has no statement yet"),)
    return tuple(
        (_statement_line(ascii_code, raw.stmt_location), message)
        for raw in statements
        if (message := _function_problem(raw.stmt))
    )


def _function_problem(statement) -> str:
    """What PostgreSQL would refuse in a CREATE FUNCTION that its grammar accepts."""
    if type(statement).__name__ != "CreateFunctionStmt":
        return ""
    kind = "PROCEDURE" if statement.is_procedure else "FUNCTION"
    name = ".".join(part.sval for part in statement.funcname)
    options = {option.defname for option in statement.options or ()}
    if statement.sql_body is None and "as" not in options:
        return f"CREATE {kind} {name} has no body (AS ... or BEGIN ATOMIC), so it would not apply"
    if "language" not in options:
        return f"CREATE {kind} {name} has no LANGUAGE, so it would not apply"
    return ""


def _statement_line(code: str, location: int) -> int:
    """The 0-based line of a statement's first word; its location may point at comments before."""
    rest = code[max(location, 0) :]
    skipped = re.match(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", rest, re.S).end()
    return code[: max(location, 0) + skipped].count("\n")


@lru_cache(maxsize=4096)
def _go_errors(code: str) -> tuple[tuple[int, str], ...]:
    if re.search(r"(?m)^\s*package\b", code):
        attempts = [("", "")]
    else:
        attempts = [("package p\n", ""), ("package p\nfunc _() {\n", "\n}\n")]
    first = None
    for prefix, suffix in attempts:
        errors = _tree_sitter_errors(prefix + code + suffix, prefix.count("\n"), code)
        if not errors:
            return ()
        first = first or errors
    if len(first) > GO_ERRORS_SHOWN:
        hidden = len(first) - GO_ERRORS_SHOWN
        line, message = first[GO_ERRORS_SHOWN - 1]
        first = [*first[: GO_ERRORS_SHOWN - 1], (line, f"{message} (and {hidden} more)")]
    return tuple(first)


def _tree_sitter_errors(source: str, shift: int, code: str) -> list[tuple[int, str]]:
    tree = Parser(GO_LANGUAGE).parse(source.encode())
    code_lines = code.split("\n")
    errors, pending = {}, [tree.root_node]
    while pending:
        node = pending.pop()
        if node.is_missing:
            line = min(max(node.start_point.row - shift, 0), len(code_lines) - 1)
            errors.setdefault(line, f"Go does not parse: missing {node.type!r}")
        elif node.is_error:
            line = min(max(node.start_point.row - shift, 0), len(code_lines) - 1)
            text = node.text.decode(errors="replace").split("\n")[0].strip()[:40]
            errors.setdefault(line, f"Go does not parse near {text!r}" if text else
                              "Go does not parse here")  # fmt: skip
            continue
        if node.has_error:
            pending.extend(reversed(node.children))
    return sorted(errors.items())


def _placeholder_problems(found: Scan):
    for block in found.blocks:
        for offset, line in enumerate(block.lines):
            left = _known_placeholders(line)
            if left:
                yield block.start + 1 + offset, "placeholder", _placeholder_message(left)
    for number, line in found.prose:
        text = _INLINE_CODE.sub(lambda m: " " * len(m.group()), _CHECKBOX.sub("", line))
        left = [match.group() for match in _BRACKETED.finditer(text)]
        if left:
            yield number, "placeholder", _placeholder_message(left)


def _known_placeholders(line: str) -> list[str]:
    return [name for name in re.findall(r"\[[^\[\]\n]+\]", line)
            if name in template.TEMPLATE_PLACEHOLDERS]  # fmt: skip


def _placeholder_message(names: list[str]) -> str:
    plural = "s" if len(names) > 1 else ""
    return f"unfilled template placeholder{plural} {', '.join(dict.fromkeys(names))}"


def _link_problems(path: str, found: Scan, tree: frozenset[str]):
    folder = posixpath.dirname(path)
    for number, line in found.prose:
        text = _INLINE_CODE.sub(lambda m: " " * len(m.group()), line)
        for match in _LINK.finditer(text):
            target = match.group(1)
            if _EXTERNAL.match(target):
                continue
            relative = unquote(target.split("#", 1)[0].split("?", 1)[0])
            resolved = posixpath.normpath(posixpath.join(folder, relative))
            if resolved == ".." or resolved.startswith("../") or relative.startswith("/"):
                yield number, "link", f"link {target!r} points outside the exported tree"
            elif resolved not in tree:
                yield number, "link", f"link {target!r} does not resolve in the exported tree"
