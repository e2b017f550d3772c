"""The data dictionary held against the data and the model when a model is captured.

The schema (:mod:`packager.artefact.schema`) applies each entry to its training column and
refuses what contradicts it; what needs more than one column is checked here: every name the
dictionary describes is a feature, the target or a subgroup column; a column that looks like
an identifier is warned of; a ``nullable: true`` feature must be one the model can score
when it is missing. Errors and warnings name features, never a value.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence

import pandas as pd

from packager.artefact import InputSpec, Task
from packager.capture.dictionary import FeatureDictionary
from packager.capture.identifiers import identifier_reason
from packager.capture.synthetic import TYPICAL, refusal, synthetic_rows
from packager.errors import DeploymlWarning, DictionaryError

__all__ = ["check_names", "check_nullable", "flag_identifiers"]


def check_names(
    dictionary: FeatureDictionary | None,
    features: Sequence[str],
    target: str | None,
    subgroups: Collection[str] = (),
) -> None:
    """Refuse entries for names that are neither a feature, the target nor a subgroup column."""
    if dictionary is None:
        return
    known = [*features, *([target] if target else []), *subgroups]
    dictionary.check_names(known, "the model's features, its target or its subgroup columns")


def flag_identifiers(frame: pd.DataFrame, dictionary: FeatureDictionary | None) -> list[str]:
    """The features that look like record identifiers, each warned of; the dictionary's
    ``identifier`` key (true or false) decides instead where it is given."""
    flagged = []
    for name in frame.columns:
        if dictionary is not None and dictionary.entry(str(name)).identifier is not None:
            continue
        reason = identifier_reason(str(name), frame[name])
        if reason is None:
            continue
        flagged.append(str(name))
        warnings.warn(
            DeploymlWarning(
                f"feature {str(name)!r} looks like a record identifier ({reason}); the model "
                "uses it, so it is kept and recorded as an identifier. A model that reads "
                "identifiers learns rows, not patients: leave it out when training, or say "
                "identifier: false for it in the data dictionary if it is not one"
            ),
            stacklevel=3,
        )
    return flagged


def check_nullable(
    model: object, spec: InputSpec, task: Task, dictionary: FeatureDictionary | None
) -> None:
    """Refuse ``nullable: true`` for a feature the model cannot score when it is missing.

    Each such feature is tried alone: the typical synthetic row with that feature null.
    """
    if dictionary is None:
        return
    named = [f.name for f in spec.features if dictionary.entry(f.name).nullable]
    if not named:
        return
    typical = synthetic_rows(spec)[TYPICAL]
    rows = [{**typical, name: None} for name in named]
    if refusal(model, spec, task, rows) is None or refusal(model, spec, task, [typical]):
        return  # all score; or not even the typical row does, which the self-test reports
    for name, row in zip(named, rows, strict=True):
        problem = refusal(model, spec, task, [row])
        if problem is not None:
            raise DictionaryError(
                dictionary.source,
                f"{name!r}: nullable: true, but the {type(model).__name__} cannot score a row "
                f"with it missing ({problem}); impute it in the model's pipeline, or leave "
                "nullable out",
            )
