"""The card's reading of the manifest's free-form fields: a value in the shape the card shows,
or :class:`Unread`, so that a part it cannot read says so in one sentence.

``metrics``, ``subgroups``, ``training`` and each profile's ``metrics`` are free-form: the
schema checks little in them, and a hand-edited manifest may hold anything there. The card
neither crashes on such a value nor guesses what it meant (a string is not an interval, a
number is not a list of warnings): the part that holds it is replaced by :data:`UNREAD`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from packager.artefact.card.blocks import Block, Text
from packager.artefact.values import for_people

__all__ = ["UNREAD", "Unread", "interval", "number", "obj", "read", "seq", "with_interval"]

UNREAD = "recorded in a shape this deployml does not read; see manifest.json"


class Unread(Exception):
    """A free-form value that is not in the shape the card reads."""


# Unread is raised where a wrong shape would not fail by itself; the others are what reading
# a wrong shape raises anyway (a string indexed by a key, None formatted as a percentage).
_WRONG_SHAPE = (Unread, KeyError, IndexError, TypeError, ValueError, AttributeError)


def read(what: str, build: Callable[[], list[Block]]) -> list[Block]:
    """The blocks ``build`` makes; one sentence saying ``what`` cannot be read if it fails."""
    try:
        return build()
    except _WRONG_SHAPE:
        return [Text(f"{what}: {UNREAD}.", "note")]


def obj(value: Any) -> dict[str, Any]:
    """``value``, an object; an empty one for None (not recorded)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Unread
    return value


def seq(value: Any) -> list[Any]:
    """``value``, a list; an empty one for None (not recorded)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unread
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value: Any) -> str:
    """A recorded number as text (n/a when None); anything else is not read."""
    if value is not None and not _is_number(value):
        raise Unread
    return for_people(value)


def interval(value: Any) -> tuple[Any, Any] | None:
    """A recorded ``[low, high]`` (either may be None), or None when there is none."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise Unread
    low, high = value
    number(low), number(high)
    return low, high


def with_interval(value: Any, bounds: Any) -> str:
    """``0.8713 (0.8421 to 0.8974)``; the value alone when there is no interval."""
    text = number(value)
    found = interval(bounds)
    if value is None or found is None:
        return text
    return f"{text} ({number(found[0])} to {number(found[1])})"
