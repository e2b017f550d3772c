"""Exact paths: a model's own arithmetic without scikit-learn's per-call overhead, used only
where start-up finds every bit of its answers equal to the model's.

scikit-learn spends most of a one-row call re-validating the input at each step and, for
forests and boosting, calling each tree; three kinds of model are common enough, and their
arithmetic plain enough, to be scored directly: forests tree by tree
(:mod:`server.runtime.forest`), histogram gradient boosting with all its trees walked
together (:mod:`server.runtime.boosting`) and a scaled linear model
(:mod:`server.runtime.linear`). Each path stands in for the model: it has the model's
``predict`` (and ``predict_proba``) on the model's input.

:func:`exact_path` offers the path for the served model, if there is one, and proves it: the
stored rows, 256 synthetic rows across the schema (nulls where allowed) and one of them
alone, each through the request checks as a request's rows reach the model, are scored both
ways with a request's configuration; every output of every method must be equal
(``np.array_equal``, same dtype), and a refusal must be the same refusal. Otherwise the model
is called as always, and the log says why, at info level.

A path that scores small batches itself and hands larger ones to the model names the largest
it scores (``largest_batch``); the synthetic rows are then also tried in slices of that many
rows, so that both routes are proven, each on every synthetic row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import sklearn

from packager.artefact import Artefact, FeatureSpec
from server.logs import SERVER_LOGGER
from server.runtime.boosting import boosting_candidate
from server.runtime.forest import forest_candidate
from server.runtime.linear import linear_candidate

__all__ = ["SYNTHETIC_ROWS", "ExactPath", "Prepare", "exact_path", "synthetic_records"]

log = logging.getLogger(SERVER_LOGGER)
# Random rows drawn from the schema for the start-up check (with each stored row).
SYNTHETIC_ROWS = 256
_NULL_SHARE = 0.1

# Records in, what the model is given for them (the request checks, then its input) out.
Prepare = Callable[[list[dict[str, Any]]], Any]


class ExactPath(Protocol):
    """What stands in for the model: its predict (and predict_proba), and what it is."""

    name: str
    description: str

    def predict(self, X: Any) -> np.ndarray: ...


def exact_path(artefact: Artefact, task: str, prepare: Prepare) -> ExactPath | None:
    """The exact path for ``artefact``'s model if it gives the model's answers on every row
    tried, else None (and the reason logged, when the model has a path at all)."""
    model = artefact.model
    path: Any
    reason: str | None
    path, name, reason = _candidate(model, task)
    if path is None:
        if reason:
            log.info("inference: scikit-learn's own predict, not the %s path: %s", name, reason)
        return None
    tried = 0
    try:
        rows = [r.inputs for r in artefact.stored_rows().values() if r.inputs]
        synthetic = synthetic_records(artefact.manifest.input.features, SYNTHETIC_ROWS)
        rows.append(synthetic)
        distinct = len(rows)  # then the same rows again: one alone, and batches of the limit
        rows.append(synthetic[:1])
        step = getattr(path, "largest_batch", None)
        if step:
            rows += [synthetic[i : i + step] for i in range(0, len(synthetic), step)]
        tried, reason = _differs(model, path, rows, prepare, distinct)
    except Exception as error:  # a model the path cannot read keeps scikit-learn
        reason = f"checking it raised {type(error).__name__}"
    if reason is None:
        log.info("inference: %s (%d rows compared)", path.description, tried)
        return path
    log.info("inference: scikit-learn's own predict, not the %s path: %s", path.name, reason)
    return None


def _candidate(model: Any, task: str) -> tuple[Any, str, str]:
    """The path offered for ``model`` (None if none), its name, and why a path of that name
    is declined ("" when the model is simply not of its kind)."""
    for name, offer in (("forest", forest_candidate), ("boosting", boosting_candidate)):
        path, reason = offer(model)
        if path is not None or reason:
            return path, name, reason
    return linear_candidate(model, task), "linear", ""


def _differs(
    model: Any, path: Any, sets: list[list[Any]], prepare: Prepare, distinct: int
) -> tuple[int, str | None]:
    """The rows compared (of the first ``distinct`` sets: the others repeat them), and the
    first way the path's answers differ from the model's own (None if none do)."""
    methods = [m for m in ("predict_proba", "predict") if hasattr(model, m) and hasattr(path, m)]
    tried = 0
    for number, records in enumerate(sets):
        try:
            X = prepare(records)
        except Exception:  # rows the request checks refuse are not scored either way
            continue
        tried += X.shape[0] if number < distinct else 0
        # The same configuration as a request's (server.runtime.loaded: Runtime.predict).
        with sklearn.config_context(assume_finite=True):
            for method in methods:
                own, fast = _answer(getattr(model, method), X), _answer(getattr(path, method), X)
                if not _same(own, fast):
                    return tried, f"its {method} differs from the model's on the rows tried"
    return tried, None if tried else "no rows passed the request checks to compare on"


def _answer(method: Callable[[Any], Any], X: Any) -> Any:
    try:
        return np.asarray(method(X))
    except Exception as error:  # the same refusal both ways is an equal answer
        return type(error)


def _same(own: Any, fast: Any) -> bool:
    if isinstance(own, type) or isinstance(fast, type):
        return own is fast
    return own.dtype == fast.dtype and bool(np.array_equal(own, fast))


def synthetic_records(features: Sequence[FeatureSpec], n: int, seed: int = 0) -> list[dict]:
    """``n`` random rows the request checks accept: numbers in the training range (inside
    the plausible limits), known categories, either boolean, nulls where allowed."""
    rng = np.random.default_rng(seed)
    columns = {f.name: _column(f, n, rng) for f in features}
    return [{name: values[i] for name, values in columns.items()} for i in range(n)]


def _column(feature: FeatureSpec, n: int, rng: np.random.Generator) -> list[Any]:
    if feature.kind == "boolean":
        values: list[Any] = rng.random(n).__lt__(0.5).tolist()
    elif feature.kind == "category" and feature.categories:
        values = [feature.categories[i] for i in rng.integers(0, len(feature.categories), n)]
    elif feature.kind in ("number", "integer"):
        low, high = _range(feature)
        drawn = rng.uniform(low, high, n)
        drawn[: min(n, 2)] = (low, high)[: min(n, 2)]
        values = (
            drawn.round().astype(np.int64).tolist() if feature.kind == "integer" else drawn.tolist()
        )
    else:
        values = [feature.most_frequent if feature.most_frequent is not None else ""] * n
    if feature.nullable:
        values = [
            None if null else v for v, null in zip(values, rng.random(n) < _NULL_SHARE, strict=True)
        ]
    return values


def _range(feature: FeatureSpec) -> tuple[float, float]:
    low = feature.min if feature.min is not None else 0.0
    high = feature.max if feature.max is not None else max(low, 1.0)
    if feature.plausible_min is not None:
        low, high = max(low, feature.plausible_min), max(high, feature.plausible_min)
    if feature.plausible_max is not None:
        low, high = min(low, feature.plausible_max), min(high, feature.plausible_max)
    if feature.kind == "integer":
        low, high = float(np.ceil(low)), float(np.floor(high))
    return low, max(low, high)
