"""The clinical evaluation's options of ``package`` and ``train``, gathered into one plan.

``evaluation_options`` passes ``--positive-class``, ``--subgroup``, ``--threshold``,
``--edge-cases``, ``--allow-failing-edge-cases`` and ``--require`` to the command as one
``evaluation`` value (a :class:`~packager.evaluation.EvaluationPlan`); each is parsed by the
part of ``packager.evaluation`` that owns it. docs/clinical.md explains what each measures.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from packager.errors import CaptureError
from packager.evaluation import EvaluationPlan, parse_requirements

__all__ = ["evaluation_options"]

F = TypeVar("F", bound=Callable[..., Any])


def _parsed_requirements(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    """--require's gates, checked as the command line is read, before any work starts."""
    try:
        parse_requirements(value)
    except CaptureError as error:
        raise click.BadParameter(error.message) from None
    return value


_OPTIONS = (
    click.option(
        "--positive-class",
        help="The label that counts as positive (binary; default: the second label).",
    ),
    click.option(
        "--subgroup",
        "subgroups",
        multiple=True,
        metavar="COLUMN[:EDGES]",
        help="Report metrics per group of COLUMN; bin a number with e.g. age:0,40,65,120 "
        "(repeatable).",
    ),
    click.option(
        "--threshold",
        "thresholds",
        multiple=True,
        metavar="NAME:RULE",
        help='A threshold profile chosen on the test data, e.g. "default:sensitivity>=0.9" '
        "(repeatable).",
    ),
    click.option(
        "--edge-cases",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A CSV of cases with an expected label or score range, kept with the model.",
    ),
    click.option(
        "--allow-failing-edge-cases",
        is_flag=True,
        help="Package even if edge cases fail; they are shown as failing everywhere.",
    ),
    click.option(
        "--require",
        "requirements",
        multiple=True,
        metavar="GATE",
        callback=_parsed_requirements,
        help='A release gate, e.g. "roc_auc>=0.80"; a model that fails one is not written '
        "(repeatable).",
    ),
)
_NAMES = (
    "positive_class",
    "subgroups",
    "thresholds",
    "edge_cases",
    "allow_failing_edge_cases",
    "requirements",
)


def evaluation_options(command: F) -> F:
    """The evaluation options, passed to ``command`` as one ``evaluation`` value."""

    @functools.wraps(command)
    def gather(**kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name in _NAMES}
        evaluation = EvaluationPlan(
            positive_class=given["positive_class"],
            subgroups=tuple(given["subgroups"]),
            thresholds=tuple(given["thresholds"]),
            edge_cases=given["edge_cases"],
            allow_failing_edge_cases=given["allow_failing_edge_cases"],
            requirements=tuple(given["requirements"]),
        )
        return command(evaluation=evaluation, **kwargs)

    decorated = cast(F, gather)
    for option in reversed(_OPTIONS):
        decorated = option(decorated)
    return decorated
