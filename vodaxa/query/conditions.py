"""Conditions written as text, read into typed values: ``where="exposure > 10000"`` (one or more comparisons
joined by AND, each a :class:`Compare`: `parse_where`) and a mission spec's row cuts (with OR, NOT and
parentheses, for the cone-search path, which applies them to its answers in pandas: `parse_condition`).

The grammar is a small, strict subset of ADQL's WHERE: ``column op literal`` (``= == != <> < <= > >=``),
``column [NOT] IN (literal, ...)``, ``column [NOT] LIKE 'pattern'``, ``column BETWEEN literal AND literal``,
``column IS [NOT] NULL``, joined with ``AND``/``OR``/``NOT`` and parentheses.  Literals are numbers, 'quoted text'
(``''`` for a quote) and TRUE/FALSE; column names are bare or "double-quoted".  Text is never passed on as query
text: the compilers write the values back out, quoted.  Only the standard library is imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .filters import Compare, Scalar

__all__ = ["AllOf", "AnyOf", "Compare", "Condition", "Constant", "Negation", "parse_condition", "parse_where"]


@dataclass(frozen=True)
class AllOf:
    """A condition that holds when every part holds (SQL's AND, with its NULL logic).

    Parameters
    ----------
    parts : tuple of Condition
        The conditions joined.
    """

    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """A condition that holds when at least one part holds (SQL's OR).

    Parameters
    ----------
    parts : tuple of Condition
        The conditions joined.
    """

    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Negation:
    """A condition that holds when its part does not (SQL's NOT: unknown stays unknown).

    Parameters
    ----------
    part : Condition
        The condition negated.
    """

    part: Condition


@dataclass(frozen=True)
class Constant:
    """A condition always true or always false (``1 = 0`` in a spec's generated conditions).

    Parameters
    ----------
    value : bool
        Whether it holds.
    """

    value: bool


#: A condition as :func:`parse_condition` reads it: a comparison (:class:`Compare`), or these joined or negated.
Condition = Compare | AllOf | AnyOf | Negation | Constant

_TOKEN = re.compile(
    r"""\s*(?:(?P<string>'(?:[^']|'')*')|(?P<quoted>"(?:[^"]|"")+")|(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<op><=|>=|<>|!=|==|=|<|>)|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))""",
    re.X,
)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "LIKE", "BETWEEN", "IS", "NULL", "TRUE", "FALSE"}


def parse_condition(text: str) -> Condition:
    """Read a condition written in the grammar above (a small, strict subset of ADQL's WHERE).

    Parameters
    ----------
    text : str
        The condition, e.g. ``"exposure > 10000 AND (status = 'archived' OR status IS NULL)"``.

    Returns
    -------
    Condition
        The condition as typed values: :class:`Compare`, :class:`AllOf`, :class:`AnyOf`, :class:`Negation` or
        :class:`Constant`.

    Raises
    ------
    vodaxa.errors.InputError
        If the text is not a condition of the grammar; the message says at which character it goes wrong and
        gives examples.

    Examples
    --------
    >>> from vodaxa.query.conditions import parse_condition
    >>> parse_condition("exposure > 10000 AND (status = 'archived' OR status IS NULL)")
    AllOf(parts=(Compare(column='exposure', op='>', value=10000), AnyOf(parts=(Compare(column='status', op='==',
    value='archived'), Compare(column='status', op='is null', value=None)))))
    """
    return _Parser(text).parse()


def parse_where(text: str | Compare) -> list[Compare]:
    """Read a ``where`` condition (as `vodaxa.search` and ``Mission.filter_on_column`` take it) into the
    comparisons it ANDs together.

    OR and NOT are refused, since each comparison becomes one filter of the history.

    Parameters
    ----------
    text : str or Compare
        Comparisons joined by AND, in the grammar above; a :class:`Compare` passes through.

    Returns
    -------
    list of Compare
        One comparison per term, in order.

    Raises
    ------
    vodaxa.errors.InputError
        If ``text`` is empty or not text, is not a condition of the grammar, or uses OR or NOT.

    Examples
    --------
    >>> from vodaxa.query.conditions import parse_where
    >>> [c.text() for c in parse_where("exposure > 10000 and instrument in ('ACIS-S', 'ACIS-I')")]
    ['exposure > 10000', "instrument in ('ACIS-S', 'ACIS-I')"]
    """
    if isinstance(text, Compare):
        return [text]
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"where={text!r}: give a comparison such as \"exposure > 10000\"")
    condition = parse_condition(text)
    parts = condition.parts if isinstance(condition, AllOf) else (condition,)
    compares = [p for p in parts if isinstance(p, Compare)]
    if len(compares) != len(parts):
        raise InputError(f"where={text!r}: only comparisons joined by AND are accepted here (one filter each); "
                         "for OR, search twice or use 'in (...)'")  # fmt: skip
    return compares


class _Parser:
    """Recursive descent over the tokens of one condition."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise InputError(f"a condition must be text, not {type(text).__name__}")
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        at = 0
        while text[at:].strip():
            match = _TOKEN.match(text, at)
            if match is None or not match.lastgroup:
                raise self.error(f"cannot read {text[at:].strip()[:20]!r}", at)
            start = match.start(match.lastgroup)
            self.tokens.append((match.lastgroup, match.group(match.lastgroup), start))
            at = match.end()
        self.at = 0

    def error(self, what: str, where: int | None = None) -> InputError:
        if where is None:
            where = self.tokens[self.at][2] if self.at < len(self.tokens) else len(self.text)
        examples = "\"exposure > 10000\", \"prog_id = '60.A-9700(A)'\", \"status in ('archived', 'processed')\""
        return InputError(f"condition {self.text!r}: {what} at character {where + 1} (write e.g. {examples})")

    def peek(self, *words: str) -> bool:
        if self.at >= len(self.tokens):
            return False
        kind, text, _ = self.tokens[self.at]
        return any((kind == "word" and text.upper() == w) or (kind != "word" and text == w) for w in words)

    def take(self, *words: str) -> bool:
        if self.peek(*words):
            self.at += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.take(word):
            raise self.error(f"expected {word}")

    def parse(self) -> Condition:
        if not self.tokens:
            raise self.error("the condition is empty", 0)
        condition = self.disjunction()
        if self.at < len(self.tokens):
            raise self.error(f"unexpected {self.tokens[self.at][1]!r}")
        return condition

    def disjunction(self) -> Condition:
        parts = [self.conjunction()]
        while self.take("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def conjunction(self) -> Condition:
        parts = [self.negation()]
        while self.take("AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def negation(self) -> Condition:
        if self.take("NOT"):
            return Negation(self.negation())
        if self.take("("):
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Condition:
        if self.at >= len(self.tokens):
            raise self.error("expected a column name")
        kind = self.tokens[self.at][0]
        if kind in ("number", "string"):  # literal op literal: a constant (a spec's "1 = 0")
            left = self.literal()
            op = self.operator()
            return Constant(_constant(left, op, self.literal()))
        column = self.column()
        if self.take("IS"):
            negated = self.take("NOT")
            self.expect("NULL")
            return Compare(column, "is not null" if negated else "is null")
        negated = self.take("NOT")
        if self.take("IN"):
            self.expect("(")
            values = [self.literal()]
            while self.take(","):
                values.append(self.literal())
            self.expect(")")
            return Compare(column, "not in" if negated else "in", tuple(values))
        if self.take("LIKE"):
            return Compare(column, "not like" if negated else "like", self.literal())
        if self.take("BETWEEN"):
            low = self.literal()
            self.expect("AND")
            between = Compare(column, "between", (low, self.literal()))
            return Negation(between) if negated else between
        if negated:
            raise self.error("expected IN, LIKE or BETWEEN after NOT")
        return Compare(column, self.operator(), self.literal())

    def column(self) -> str:
        kind, text, _ = self.tokens[self.at]
        if kind == "quoted":
            self.at += 1
            return text[1:-1].replace('""', '"')
        if kind == "word" and text.upper() not in _KEYWORDS:
            self.at += 1
            return text
        raise self.error(f"expected a column name, not {text!r}")

    def operator(self) -> str:
        if self.at < len(self.tokens) and self.tokens[self.at][0] == "op":
            self.at += 1
            return self.tokens[self.at - 1][1]
        raise self.error("expected a comparison (=, !=, <, <=, >, >=, IN, LIKE, BETWEEN, IS NULL)")

    def literal(self) -> Scalar:
        if self.at >= len(self.tokens):
            raise self.error("expected a value")
        kind, text, _ = self.tokens[self.at]
        self.at += 1
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "word" and text.upper() in ("TRUE", "FALSE"):
            return text.upper() == "TRUE"
        self.at -= 1
        hint = " (quote text values: 'like this')" if kind in ("word", "quoted") else ""
        raise self.error(f"expected a value, not {text!r}{hint}")


def _constant(left: Any, op: str, right: Any) -> bool:
    op = {"=": "==", "<>": "!="}.get(op, op)
    if isinstance(left, str) != isinstance(right, str):
        raise InputError(f"cannot compare {left!r} with {right!r}")
    return {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right, ">": left > right,
            ">=": left >= right}[op]  # fmt: skip
