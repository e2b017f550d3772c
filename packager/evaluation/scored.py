"""Labelled rows as the model scored them: the one input of every evaluation.

A :class:`Scored` holds, for some rows with known outcomes (the test data, one subgroup, a
site's data), the true labels, the model's predictions and its probabilities, and for binary
classifiers which class is positive. Metrics, subgroups and threshold profiles are all
computed from it, so they agree on what "positive" and "score" mean. :func:`positive_class_of`
finds the class a user named (``"1"`` from a command line names the class ``1``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from packager.artefact import Label, Task
from packager.errors import CaptureError

__all__ = ["Scored", "positive_class_of"]


@dataclass(frozen=True)
class Scored:
    """True labels, predictions and probabilities (columns in ``classes`` order) of rows."""

    task: Task
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None = None
    classes: tuple[Label, ...] = ()
    positive_class: Label | None = None  # binary classifiers only

    def __len__(self) -> int:
        return len(self.y_true)

    @property
    def positive(self) -> np.ndarray:
        """Whether each row's true label is the positive class (binary classifiers)."""
        return np.asarray(self.y_true == self.positive_class)

    @property
    def score(self) -> np.ndarray:
        """The probability of the positive class for each row (binary, with probabilities)."""
        if self.proba is None or self.positive_class is None:
            raise ValueError("only a binary classifier with probabilities has a score")
        return np.asarray(self.proba[:, self.classes.index(self.positive_class)])

    def subset(self, rows: np.ndarray) -> Scored:
        """The same model's outputs for some of the rows (indices or a boolean mask)."""
        return Scored(
            self.task,
            self.y_true[rows],
            self.y_pred[rows],
            None if self.proba is None else self.proba[rows],
            self.classes,
            self.positive_class,
        )


def positive_class_of(given: Any, classes: Sequence[Label], task: Task) -> Label | None:
    """The class of ``classes`` that ``given`` names; the second when none is given (binary).

    A string names a class equal to it, else a number or boolean it spells (``"1"``,
    ``"true"``), else a class equal to it but for case; two matches are ambiguous.
    """
    if task != "binary":
        if given is None:
            return None
        kind = "a regressor" if task == "regression" else f"a {len(classes)}-class classifier"
        raise CaptureError(f"a positive class applies to binary classifiers; this model is {kind}")
    if given is None:
        return classes[1]
    for match in (_same, _spelled, _same_but_case):
        found = [label for label in classes if match(given, label)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise CaptureError(
                f"the positive class {given!r} is ambiguous: it names each of the classes "
                f"{_listed(found)}; give one exactly"
            )
    raise CaptureError(
        f"the positive class {given!r} is not one of the model's classes: {_listed(classes)}"
    )


def _same(given: Any, label: Label) -> bool:
    # True == 1 in Python, but a boolean names only a boolean class.
    return isinstance(given, bool) == isinstance(label, bool) and given == label


def _spelled(given: Any, label: Label) -> bool:
    if not isinstance(given, str) or isinstance(label, str):
        return False
    text = given.strip().lower()
    if isinstance(label, bool):
        return text == str(label).lower()
    try:
        return float(text) == label
    except ValueError:
        return False


def _same_but_case(given: Any, label: Label) -> bool:
    return isinstance(given, str) and isinstance(label, str) and given.lower() == label.lower()


def _listed(labels: Sequence[Label]) -> str:
    return ", ".join(repr(label) for label in labels)
