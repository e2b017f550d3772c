"""Labelled rows as the model scored them: the one input of every evaluation.

A :class:`Scored` holds, for some rows with known outcomes (the test data, one subgroup, a
site's data), the true labels, the model's predictions and its probabilities, and for binary
classifiers which class is positive. Metrics, subgroups and threshold profiles are all
computed from it, so they agree on what "positive" and "score" mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from packager.artefact import Label, Task

__all__ = ["Scored"]


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
