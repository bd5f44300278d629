"""Document QA: the seed's Validation Criteria, checked without executing anything.

Each exported file is read as markdown: SQL blocks must parse with PostgreSQL's own parser
(pglast), PL/pgSQL function bodies included, Go blocks with tree-sitter's Go grammar; no template
placeholder may be left; every template section must be there and filled; relative links must
resolve inside the tree; fences must close. Each failure names its file, its template section and
its line.

Each finding's written fields are checked too, line numbers counted in the field as its author
sees it: a field that is empty or placeholder-like is not written; the Go implementation must
declare a function; the database tests must declare a test function and keep the seed's
concurrent worker pattern, or say why not.
"""

import posixpath
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

import tree_sitter_go
from pglast import parse_plpgsql, parse_sql
from pglast.parser import ParseError
from tree_sitter import Language, Parser

from findings.export import template
from findings.export.markdown_scan import Scan, scan
from findings.export.structure import structure_problems
from findings.models import Finding
from findings.seed import TITLE_PLACEHOLDER

CHECKS = {
    "fence": "Fences balanced",
    "sql": "SQL parses",
    "go": "Go parses",
    "placeholder": "No template placeholders",
    "section": "Sections filled",
    "link": "Links resolve",
    "written": "Sections written",
    "function": "Go declares a function",
    "tests": "Tests declared with their workers",
    "applies": "Migrations apply",
    "reverts": "Rollbacks restore the schema",
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
_END_OF_INPUT = "syntax error at end of input"
_DO_BLOCK_FUNCTION = (
    "CREATE FUNCTION do_block() RETURNS void LANGUAGE plpgsql AS $qa_do_block$",
    "$qa_do_block$",
)


@dataclass(frozen=True)
class Problem:
    document: str
    section: str
    line: int
    check: str
    message: str
    # The code of the finding whose part of the document holds the line; "" outside any part.
    finding: str = ""

    def __str__(self) -> str:
        return f"{self.document}:{self.section}:{self.line}: {self.message}"

    @property
    def section_number(self) -> int | None:
        """The template section (1–6) the line is in, None outside them."""
        for number, name in template.SECTION_NAMES.items():
            if self.section == name or self.section.endswith(f" {name}"):
                return number
        return None


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
        Problem(path, found.section_at(line), line, check, message, _part_code(found, line))
        for line, check, message in problems
    ]
    return sorted(located, key=lambda problem: (problem.line, problem.check, problem.message))


def _part_code(found: Scan, line: int) -> str:
    index = bisect_right(found.parts, line, key=lambda part: part.heading.line) - 1
    return found.parts[index].code if index >= 0 and line < found.parts[index].end else ""


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
    problems = []
    for raw in statements:
        if message := _function_problem(raw.stmt):
            problems.append((_statement_line(ascii_code, raw.stmt_location), message))
        elif problem := _plpgsql_problem(ascii_code, raw):
            problems.append(problem)
    return tuple(problems)


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


def _plpgsql_problem(code: str, raw) -> tuple[int, str] | None:
    """(0-based line, message) of the first error in a PL/pgSQL body, which parse_sql keeps as an
    opaque string: CREATE FUNCTION ... LANGUAGE plpgsql, or a DO block."""
    statement = raw.stmt
    kind = type(statement).__name__
    if kind == "CreateFunctionStmt":
        options = {option.defname: option for option in statement.options or ()}
        if options["language"].arg.sval.lower() != "plpgsql":
            return None
        body_option, body = options["as"], options["as"].arg[0].sval
        name = ".".join(part.sval for part in statement.funcname)
    elif kind == "DoStmt":
        options = {option.defname: option for option in statement.args}
        language = options.get("language")
        if language is not None and language.arg.sval.lower() != "plpgsql":
            return None
        body_option, body, name = options["as"], options["as"].arg.sval, "the DO block"
    else:
        return None
    start = raw.stmt_location
    text = code[start : start + raw.stmt_len] if raw.stmt_len else code[start:]
    # A dollar-quoted body stands verbatim after its AS; a quoted one, with its quotes doubled,
    # does not, and its errors are then shown at the statement.
    at = text.find(body, body_option.location - start) if body else -1
    if kind == "DoStmt":
        # The PL/pgSQL parser reads functions only; a DO block is one without arguments.
        prefix, suffix = _DO_BLOCK_FUNCTION
    elif at >= 0:
        prefix, suffix = text[:at], text[at + len(body) :]
    else:
        prefix, body, suffix = text, "", ""
    message = _plpgsql_error(prefix, body, suffix)
    if message is None:
        return None
    if at < 0:
        return _statement_line(code, start), f"PL/pgSQL body of {name} does not parse: {message}"
    first_line = code[: start + at].count("\n")
    line = _plpgsql_error_line(prefix, body, suffix, message)
    return first_line + line, f"PL/pgSQL body of {name} does not parse: {message}"


def _plpgsql_error(prefix: str, body: str, suffix: str) -> str | None:
    try:
        parse_plpgsql(prefix + body + suffix)
    except ParseError as error:
        return error.args[0]
    return None


def _plpgsql_error_line(prefix: str, body: str, suffix: str, message: str) -> int:
    """The 0-based line of the body where its first error is.

    libpg_query gives no position for PL/pgSQL errors, so the body is cut short: the parser reads
    left to right, so the first line after which the same error appears is the line it stands on.
    "At end of input" is what every cut body says too; for it, the first line whose removal makes
    the body parse is the one, and failing that the body's end, where the input ran out.
    """
    lines = body.split("\n")
    if message != _END_OF_INPUT:
        low, high = 1, len(lines)
        while low < high:
            middle = (low + high) // 2
            if _plpgsql_error(prefix, "\n".join(lines[:middle]), suffix) == message:
                high = middle
            else:
                low = middle + 1
        return low - 1
    for number in range(len(lines)):
        without = [*lines[:number], "", *lines[number + 1 :]]
        if _plpgsql_error(prefix, "\n".join(without), suffix) is None:
            return number
    return len(lines) - 1


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


# --- A finding's written fields ---

# The fields an author writes, in the order the document shows them. Effort is a pair of numbers
# and QA only asks that it be given.
WRITTEN_FIELDS = (
    "title",
    "effort",
    "problem_statement",
    "root_cause",
    "impact",
    "integration_points",
    "migration_sql",
    "go_implementation",
    "database_tests",
    "success_functional",
    "success_performance",
    "success_security",
    "success_integration",
    "rollback_sql",
)
SQL_FIELDS = {"migration_sql", "rollback_sql"}
# Which template section shows each field, so a file's failures can be told apart from the
# field's own: an unwritten field leaves the section its skeleton, full of placeholders.
SECTION_FIELDS = {
    1: ("title", "effort", "problem_statement", "root_cause", "impact", "integration_points"),
    2: ("migration_sql",),
    3: ("go_implementation",),
    4: ("database_tests",),
    6: (
        "success_functional",
        "success_performance",
        "success_security",
        "success_integration",
        "rollback_sql",
    ),
}
# What stands in a section nobody has written yet, compared case-insensitively with the whole
# text once comment markers, emphasis and trailing dots are gone. A text with no letter or digit
# at all ("...", "…", "-", "???") is one too, and so is any text that starts with one of
# PLACEHOLDER_STARTS or holds lorem ipsum.
PLACEHOLDER_TEXTS = frozenset(
    {
        "x",
        "xx",
        "xxx",
        "todo",
        "tbd",
        "tba",
        "fixme",
        "wip",
        "placeholder",
        "n/a",
        "none yet",
        "to be written",
        TITLE_PLACEHOLDER.lower(),
        *(placeholder.lower() for placeholder in template.TEMPLATE_PLACEHOLDERS),
    }
)
PLACEHOLDER_STARTS = ("todo", "tbd", "fixme", "placeholder")
FILLER = "lorem ipsum"
# Written in the database tests, `// fewer workers because <reason>` excuses them from the
# seed's pattern of at least MIN_WORKERS concurrent workers.
MIN_WORKERS = 50
FEWER_WORKERS_MARKER = "fewer workers because"

_FEWER_WORKERS = re.compile(rf"{FEWER_WORKERS_MARKER}\s*\w", re.I)
_COMMENT_MARKS = re.compile(r"^\s*(?:--|//|#+|/\*+|\*+/|\*)\s?", re.M)
_EMPHASIS = " \t\n`'\"*_.:;!"


@dataclass(frozen=True)
class FieldProblem:
    finding: str
    field: str
    # 1-based, counted in the field's own text; 0 when the problem is the field as a whole.
    line: int
    check: str
    message: str

    @property
    def label(self) -> str:
        return field_label(self.field)

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{self.finding} {self.label}: {where}{self.message}"


def field_label(field: str) -> str:
    """How a page or a report names a written field: its verbose name, capitalised."""
    if field == "effort":
        return "Estimated effort"
    name = str(Finding._meta.get_field(field).verbose_name)
    return name[:1].upper() + name[1:]


def finding_problems(finding: Finding) -> list[FieldProblem]:
    """Every QA failure of the finding's written fields, in WRITTEN_FIELDS order."""
    problems = []
    for field in WRITTEN_FIELDS:
        if field == "effort":
            found = [] if finding.has_effort_estimate else [(0, "written", "not written")]
        else:
            found = field_problems(field, getattr(finding, field))
        problems += [FieldProblem(finding.code, field, *problem) for problem in found]
    return problems


def field_problems(field: str, text: str) -> list[tuple[int, str, str]]:
    """(1-based line or 0, check, message) of each failure of one written field's text.

    Go is checked for what it declares only once it parses: a broken tree would name missing
    declarations that are merely unreadable.
    """
    text = (text or "").replace("\r\n", "\n")
    if placeholder_like(text):
        return [(0, "written", "not written")]
    if field in SQL_FIELDS:
        return [(line + 1, "sql", message) for line, message in sql_errors(text)]
    if field in ("go_implementation", "database_tests"):
        broken = go_errors(text)
        if broken:
            return [(line + 1, "go", message) for line, message in broken]
        if field == "go_implementation":
            return list(_go_function_problems(text))
        return list(_go_test_problems(text))
    return []


def placeholder_like(text: str) -> bool:
    """Whether a section's text is empty, whitespace, or what stands in for text not written."""
    plain = " ".join(_COMMENT_MARKS.sub("", text or "").split()).strip(_EMPHASIS).lower()
    return (
        not any(character.isalnum() for character in plain)
        or plain in PLACEHOLDER_TEXTS
        or any(re.match(rf"{start}\b", plain) for start in PLACEHOLDER_STARTS)
        or FILLER in plain
    )


def _go_tree(code: str):
    """The snippet's syntax tree and how many lines were put before it to make it a file."""
    prefix = "" if re.search(r"(?m)^\s*package\b", code) else "package p\n"
    return Parser(GO_LANGUAGE).parse((prefix + code).encode()), prefix.count("\n")


def _go_function_problems(code: str):
    tree, _ = _go_tree(code)
    if not any(node.type in _GO_FUNCTIONS for node in tree.root_node.named_children):
        yield 0, "function", "no function declaration (`func Name(...)` or a method)"


def _go_test_problems(code: str):
    tree, shift = _go_tree(code)
    declarations = tree.root_node.named_children
    if not any(_is_test_function(node) for node in declarations):
        yield (
            0,
            "tests",
            "no test function: `func TestName(t *testing.T)` or a suite method "
            "`func (s *Suite) TestName()`",
        )
    if any(_FEWER_WORKERS.search(node.text.decode()) for node in _walk(tree.root_node)
           if node.type == "comment"):  # fmt: skip
        return
    constants = _integer_names(tree.root_node)
    loops = [(loop, _workers(loop, constants)) for loop in _worker_loops(tree.root_node)]
    excuse = f"or say why in a `// {FEWER_WORKERS_MARKER} ...` comment"
    if not loops:
        yield (
            0,
            "tests",
            f"no concurrent workers: the seed's pattern starts at least {MIN_WORKERS} goroutines "
            f"in a loop (`for w := 0; w < numWorkers; w++ {{ go ... }}`); keep it {excuse}",
        )
        return
    counted = [count for _, count in loops if count is not None]
    if counted and max(counted) >= MIN_WORKERS:
        return
    loop, count = loops[0]
    line = loop.start_point.row - shift + 1
    if count is None:
        header = loop.text.decode().split("\n")[0].removesuffix("{").strip()
        yield (
            line,
            "tests",
            f"cannot tell how many workers `{header}` starts: bound it by a number or a "
            f"constant of this file of at least {MIN_WORKERS}, {excuse}",
        )
    else:
        yield (
            line,
            "tests",
            f"{max(counted)} concurrent workers, fewer than the seed's {MIN_WORKERS}: "
            f"start more {excuse}",
        )


_GO_FUNCTIONS = ("function_declaration", "method_declaration")
_TEST_NAME = re.compile(r"^Test(?![a-z])")


def _is_test_function(node) -> bool:
    name = node.child_by_field_name("name")
    if node.type not in _GO_FUNCTIONS or name is None or not _TEST_NAME.match(name.text.decode()):
        return False
    parameters = node.child_by_field_name("parameters").named_children
    if node.type == "method_declaration":
        return not parameters
    types = [parameter.child_by_field_name("type") for parameter in parameters]
    return len(types) == 1 and types[0] is not None and types[0].text == b"*testing.T"


def _walk(node):
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(reversed(current.named_children))


def _integer_names(root) -> dict[str, int]:
    """Every name the file gives an integer literal, as `const`, `var` or `:=`."""
    names = {}
    for node in _walk(root):
        if node.type in ("const_spec", "var_spec"):
            targets = node.children_by_field_name("name")
            values = node.child_by_field_name("value")
        elif node.type == "short_var_declaration":
            targets = node.child_by_field_name("left").named_children
            values = node.child_by_field_name("right")
        else:
            continue
        for target, value in zip(targets, values.named_children if values else (), strict=False):
            number = _integer(value, {})
            if number is not None:
                names.setdefault(target.text.decode(), number)
    return names


def _integer(node, names: dict[str, int]) -> int | None:
    text = node.text.decode()
    if node.type == "int_literal":
        digits = text.replace("_", "")
        # Go reads a leading zero as octal, as Python 3 no longer does.
        return int(digits, 8) if re.fullmatch(r"0\d+", digits) else int(digits, 0)
    if node.type == "identifier":
        return names.get(text)
    return None


def _worker_loops(root) -> list:
    """Each `for` loop whose body starts a goroutine (`go ...` or an errgroup's `g.Go(...)`)."""
    return [
        node
        for node in _walk(root)
        if node.type == "for_statement"
        and any(_starts_goroutine(inner) for inner in _walk(node.child_by_field_name("body")))
    ]


def _starts_goroutine(node) -> bool:
    if node.type == "go_statement":
        return True
    function = node.child_by_field_name("function") if node.type == "call_expression" else None
    return (
        function is not None
        and function.type == "selector_expression"
        and (function.child_by_field_name("field").text == b"Go")
    )


def _workers(loop, names: dict[str, int]) -> int | None:
    """How many times the loop runs: `i < N`, `i <= N`, `N > i` or `range N`, N known."""
    header = loop.named_children[0]
    if header.type == "range_clause":
        return _integer(header.child_by_field_name("right"), names)
    condition = header.child_by_field_name("condition") if header.type == "for_clause" else None
    if condition is None or condition.type != "binary_expression":
        return None
    operator = condition.child_by_field_name("operator").text.decode()
    left, right = condition.child_by_field_name("left"), condition.child_by_field_name("right")
    bound = {"<": (right, 0), "<=": (right, 1), ">": (left, 0), ">=": (left, 1)}.get(operator)
    if bound is None:
        return None
    count = _integer(bound[0], names)
    return None if count is None else count + bound[1]
