"""Live rows counted into the training bins all at once give what ``FeatureBins.count`` gives
feature by feature, for column batches and float-matrix batches, small and large."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import make_patients
from sklearn.datasets import load_breast_cancer

from packager import read_manifest
from packager.artefact import FeatureBins, infer_input_spec, training_bins
from server.metrics.binning import BROADCAST_UP_TO, BinTable


def per_feature(drift: dict[str, FeatureBins], columns: dict[str, Any]) -> np.ndarray:
    return np.concatenate([bins.count(list(columns[name])) for name, bins in drift.items()])


@pytest.mark.parametrize("rows", [1, 3, BROADCAST_UP_TO, BROADCAST_UP_TO + 1, 5_000])
def test_a_column_batch_is_counted_as_each_feature_alone_would_be(
    pipeline_artefact: Path, rows: int
) -> None:
    spec = read_manifest(pipeline_artefact)[0].input
    training, _ = make_patients(300, seed=7)
    drift = training_bins(training, spec)
    assert {bins.kind for bins in drift.values()} == {"number", "category"}
    live, _ = make_patients(rows, seed=11)
    frame = live.astype(object).where(live.notna(), None)
    columns = {name: tuple(frame[name]) for name in spec.names}
    # A ward never seen in training, and values on and beside the edges.
    columns["ward"] = ("z", *columns["ward"][1:])
    age_edges = drift["age"].edges
    columns["age"] = (age_edges[0], *columns["age"][1:])
    table = BinTable(drift, spec.names)
    counted = table.count(rows, None, columns)
    assert counted.tolist() == per_feature(drift, columns).tolist()
    assert counted.sum() == rows * len(drift)


@pytest.mark.parametrize("rows", [1, 10, 10_000])
def test_a_float_matrix_batch_is_counted_as_each_feature_alone_would_be(
    binary_artefact: Path, rows: int
) -> None:
    spec = read_manifest(binary_artefact)[0].input
    X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    drift = training_bins(X.iloc[:400], spec)
    rng = np.random.default_rng(rows)
    matrix = np.array(X.sample(rows, replace=True, random_state=rows), dtype=np.float64)
    matrix[rng.random(matrix.shape) < 0.05] = np.nan
    first = spec.names[0]
    matrix[0, 0] = drift[first].edges[-1]  # on an edge: counted in the bin it closes
    columns = {name: matrix[:, i] for i, name in enumerate(spec.names)}
    counted = BinTable(drift, spec.names).count(rows, matrix, None)
    assert counted.tolist() == per_feature(drift, columns).tolist()


def test_features_without_bins_and_bins_of_unknown_features_are_left_out() -> None:
    frame = pd.DataFrame({"a": np.arange(100.0)})
    spec = infer_input_spec(frame, format="dataframe", names_generated=False, allow_nan=True)
    bins = training_bins(frame, spec)
    table = BinTable({**bins, "gone": bins["a"]}, ["b", "a"])
    assert {feature for feature, _ in table.labels} == {"a"}
    counted = table.count(2, np.array([[0.0, 5.0], [0.0, np.nan]]), None)
    assert counted[-1] == 1 and counted.sum() == 2
