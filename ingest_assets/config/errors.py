"""The error a bad `sources.yml` or job sheet raises, and the wording of one field's problem."""

from __future__ import annotations

from ingest_assets.errors import IngestError


class ConfigError(IngestError):
    """`sources.yml` is invalid.

    Attributes:
        problems: one message per problem, in file order, each starting with the file's name
            (`sources.yml: source 'crm': schedule: ...`).
        lines: the 1-based YAML line of each problem, None where unknown (job sheet rows, a
            missing file).
        located: the messages as shown to people, the line after the file name
            (`sources.yml:14: source 'crm': schedule: ...`, as compilers and editors write
            it); `str(error)` is these, one per line, so the first line of a traceback shows
            the first problem.
    """

    def __init__(
        self, problems: list[str], lines: list[int | None] | None = None, label: str | None = None
    ):
        self.problems = problems
        self.lines = list(lines) if lines is not None else [None] * len(problems)
        self.located = [_located(p, line, label) for p, line in zip(problems, self.lines)]
        super().__init__("\n".join(self.located), transient=False)


def _located(problem: str, line: int | None, label: str | None) -> str:
    """`problem` with `:<line>` after its file name `label`."""
    if line is None or not label or not problem.startswith(f"{label}: "):
        return problem
    return f"{label}:{line}: {problem[len(label) + 2 :]}"


def field_message(error: dict) -> str:
    """The text of one pydantic error of a config model as the loader words it (an unknown
    field, a missing field, a bad name, a validator's message); the job sheet uses it too.

    Args:
        error: one item of `pydantic.ValidationError.errors()`.
    """
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if error["type"] == "extra_forbidden":
        if error.get("suggestion"):
            return (
                "unknown field; check its spelling and where it is indented: did you mean "
                f"{error['suggestion']!r}?"
            )
        return "unknown field; check its spelling and where it is indented"
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] == "string_pattern_mismatch":
        return (
            f"{error['input']!r} must be lower-case letters, digits and _ and start with a letter"
        )
    return message
