"""Drift bins: each feature's training distribution as bins, counted again the same way, and
compared by the population stability index."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from conftest import make_birthwt, make_pbc, make_penguins
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.dummy import DummyClassifier

from packager import capture
from packager.artefact import (
    FeatureBins,
    Manifest,
    infer_input_spec,
    population_stability,
    training_bins,
)


def _bins(frame: pd.DataFrame, **kwargs: object) -> dict[str, FeatureBins]:
    spec = infer_input_spec(
        frame, format="dataframe", names_generated=False, allow_nan=False, **kwargs
    )
    return training_bins(frame, spec)


def test_numbers_are_binned_by_deciles_closed_on_the_right() -> None:
    frame = pd.DataFrame({"x": np.arange(1, 1001, dtype=float)})
    bins = _bins(frame)["x"]
    assert bins.kind == "number"
    assert bins.edges == [100.0 * k for k in range(1, 10)]
    assert bins.counts == [100] * 10 + [0]
    assert bins.labels[0] == "<=100" and bins.labels[1] == "100-200"
    assert bins.labels[-2:] == [">900", "missing"]
    # An edge itself falls in the bin below it.
    assert bins.count([100.0, 100.5]).tolist() == [1, 1] + [0] * 9


@pytest.mark.parametrize(
    "frame",
    [make_pbc(400, seed=1), make_penguins(), make_birthwt()],
    ids=["pbc", "penguins", "birthwt"],
)
def test_counting_the_training_columns_again_gives_the_training_counts(
    frame: pd.DataFrame,
) -> None:
    found = _bins(frame)
    assert found
    for name, bins in found.items():
        assert sum(bins.counts) == len(frame), name
        assert len(bins.counts) == len(bins.labels) == len(set(bins.labels)), name
        assert bins.count(frame[name].to_numpy()).tolist() == bins.counts, name
        assert bins.count(frame[name].tolist()).tolist() == bins.counts, name
        assert all(b > a for a, b in pairwise(bins.edges)), name


def test_categories_and_booleans_get_one_bin_each_then_other_and_missing() -> None:
    frame = make_penguins()
    bins = _bins(frame)
    assert bins["island"].labels == ["Biscoe", "Dream", "Torgersen", "other", "missing"]
    assert bins["sex"].counts[-1] == int(frame["sex"].isna().sum()) > 0
    flags = _bins(pd.DataFrame({"flag": [True, False] * 50}))["flag"]
    assert (flags.kind, flags.categories) == ("category", [False, True])
    assert flags.labels == ["False", "True", "other", "missing"]
    assert flags.counts == [50, 50, 0, 0]


def test_an_unseen_category_counts_as_other_and_a_null_as_missing() -> None:
    bins = _bins(make_penguins())["island"]
    counted = bins.count(["Dream", "Atlantis", None, np.nan, "Biscoe"])
    assert dict(zip(bins.labels, counted.tolist(), strict=True)) == {
        "Biscoe": 1,
        "Dream": 1,
        "Torgersen": 0,
        "other": 1,
        "missing": 2,
    }


def test_numbers_beyond_the_edges_fall_in_the_outer_bins_and_nulls_are_missing() -> None:
    bins = _bins(make_penguins())["body_mass_g"]
    counted = bins.count([-1e9, 1e9, math.inf, None, math.nan, "not a number"]).tolist()
    assert counted[0] == 1
    assert counted[-2] == 2
    assert counted[-1] == 3
    assert counted.count(0) == len(counted) - 3
    assert bins.count(np.array([np.nan, 1.0])).dtype == np.int64


def test_codes_the_pipeline_encodes_are_binned_as_categories() -> None:
    from packager.artefact import ColumnHint

    frame = make_birthwt()
    found = _bins(frame, hints={"race": ColumnHint(categories=[1, 2, 3])})
    assert found["race"].labels == ["1", "2", "3", "other", "missing"]
    assert found["race"].count([1, 2.0, 4]).tolist() == [1, 1, 0, 1, 0]


def test_a_small_table_gets_fewer_bins_and_a_tiny_one_none() -> None:
    rng = np.random.default_rng(0)
    assert len(_bins(pd.DataFrame({"x": rng.normal(size=100)}))["x"].edges) == 4  # 5 bins
    assert "x" not in _bins(pd.DataFrame({"x": rng.normal(size=39)}))
    assert len(_bins(pd.DataFrame({"x": rng.normal(size=40)}))["x"].edges) == 1


def test_few_distinct_values_give_few_bins() -> None:
    frame = pd.DataFrame({"x": [0, 1] * 300, "y": [0.0] * 600})
    found = _bins(frame)
    assert found["x"].edges == [0.0]
    assert found["x"].labels == ["<=0", ">0", "missing"]
    assert "y" not in found  # one value: nothing to tell apart


def test_rows_tied_at_the_maximum_keep_a_bin_of_their_own() -> None:
    found = _bins(
        pd.DataFrame({"mostly_0": [0] * 570 + [1] * 30, "mostly_1": [1] * 570 + [0] * 30})
    )
    assert found["mostly_0"].labels == found["mostly_1"].labels == ["<=0", ">0", "missing"]
    assert found["mostly_1"].counts == [30, 570, 0]
    # Fewer than 20 rows below the maximum: no edge that is the value of those few.
    assert "x" not in _bins(pd.DataFrame({"x": [15] * 590 + [3] * 10}))
    # A score at its ceiling for 30% of rows: 99 and 100 apart, the ceiling a bin of its own.
    rng = np.random.default_rng(5)
    score = np.where(rng.random(600) < 0.3, 100, rng.integers(88, 100, 600))
    bins = _bins(pd.DataFrame({"score": score}))["score"]
    assert bins.labels[-3:] == ["98-99", ">99", "missing"]
    assert bins.counts[-2] == int((score == 100).sum())


def test_identifiers_and_free_text_are_never_binned() -> None:
    frame = make_pbc(400, seed=1).assign(note=[f"note {i}" for i in range(400)])
    found = _bins(frame, identifiers={"id"})
    assert "id" not in found
    assert "note" not in found
    assert "diagnosed" not in found  # a date as text: free text here
    assert {"age", "sex", "bili"} <= set(found)


def test_edges_are_rounded_so_no_two_labels_read_the_same() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": 1000 + rng.random(1000) * 1e-3})
    bins = _bins(frame)["x"]
    assert len(set(bins.labels)) == len(bins.labels)
    assert bins.count(frame["x"]).tolist() == bins.counts


def test_stability_index_is_zero_for_the_same_proportions() -> None:
    assert population_stability([1000, 2000, 7000, 0], [100, 200, 700, 0]) < 0.01
    assert population_stability([10, 20, 70, 0], [10, 20, 70, 0]) == 0


def test_stability_index_is_large_for_a_shifted_sample() -> None:
    frame = make_penguins()
    bins = _bins(frame)["body_mass_g"]
    shifted = bins.count(frame["body_mass_g"] + 1500)
    assert population_stability(bins.counts, shifted) > 0.25
    # An empty bin on either side keeps it finite.
    assert math.isfinite(population_stability([100, 0], [0, 100]))


def test_stability_index_of_no_rows_is_not_a_number() -> None:
    assert math.isnan(population_stability([5, 5], [0, 0]))
    with pytest.raises(ValueError, match="same bins"):
        population_stability([1, 2], [1, 2, 3])


def test_a_big_batch_counts_as_its_rows_counted_one_by_one() -> None:
    bins = _bins(make_penguins())["island"]
    rng = np.random.default_rng(4)
    values = rng.choice(np.array(["Dream", "Biscoe", "Torgersen", "Atlantis", None]), 1000)
    one_by_one = sum(bins.count([value]) for value in values)
    assert bins.count(values).tolist() == one_by_one.tolist()
    assert bins.count(list(values)).tolist() == one_by_one.tolist()


def test_a_category_named_like_a_reserved_bin_gets_a_label_of_its_own() -> None:
    frame = pd.DataFrame({"code": ["other", "missing", "a"] * 20})
    bins = _bins(frame)["code"]
    assert bins.labels == ["a", "'missing'", "'other'", "other", "missing"]
    assert bins.count(["other", None, "b"]).tolist() == [0, 0, 1, 1, 1]


def test_a_negative_zero_edge_reads_as_zero() -> None:
    frame = pd.DataFrame({"x": np.r_[np.round(np.linspace(-0.4, 0, 200)), np.arange(1.0, 201)]})
    bins = _bins(frame)["x"]
    assert bins.labels[0] == "<=0" and math.copysign(1, bins.edges[0]) == 1


@pytest.fixture(scope="module")
def base_manifest() -> Manifest:
    """A manifest to carry each generated table's schema and bins through manifest.json."""
    X = pd.DataFrame({"x": [0.0, 1.0] * 25})
    y = ["a", "b"] * 25
    return capture(DummyClassifier().fit(X, y), X, y).manifest


def _column(draw: st.DrawFn) -> np.ndarray:
    """Values of one training column: any magnitude (up to the largest float), whole numbers
    of the whole int64 range, heavy ties, and gaps."""
    n = draw(st.integers(40, 400))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(st.sampled_from(["magnitude", "int64", "ties", "edge of float"]))
    if shape == "int64":
        low = draw(st.integers(-(2**63), 2**63 - 2))
        high = draw(st.integers(low + 1, 2**63 - 1))
        return rng.integers(low, high, n, endpoint=True, dtype=np.int64)
    if shape == "edge of float":
        values = np.finfo(np.float64).max * (1 - rng.integers(0, 4, n) * 1e-5)
        return values * draw(st.sampled_from([-1.0, 1.0]))
    scale = 10.0 ** draw(st.integers(-320, 307))
    values = rng.normal(draw(st.floats(-10, 10)), 1, n) * scale
    if shape == "ties":  # 0, or the maximum, for most rows
        tie = 0.0 if draw(st.booleans()) else values.max()
        values = np.where(rng.random(n) < draw(st.floats(0.5, 0.99)), tie, values)
    return np.where(rng.random(n) < draw(st.floats(0, 0.3)), np.nan, values)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_training_values_count_again_into_the_bins_read_from_manifest_json(
    base_manifest: Manifest, data: st.DataObject
) -> None:
    frame = pd.DataFrame({"x": data.draw(st.composite(_column)())})
    spec = infer_input_spec(frame, format="dataframe", names_generated=False, allow_nan=True)
    found = training_bins(frame, spec)
    written = json.dumps(replace(base_manifest, input=spec, drift=found).to_dict(), allow_nan=False)
    read = Manifest.from_dict(json.loads(written)).drift
    assert read == found
    for bins in read.values():
        assert all(map(math.isfinite, bins.edges))
        assert bins.count(frame["x"].to_numpy()).tolist() == bins.counts
        assert bins.count(frame["x"].tolist()).tolist() == bins.counts
        assert sum(bins.counts) == len(frame)
