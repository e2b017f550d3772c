"""The report deployml train prints: the classification table agrees with scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import classification_report

from packager.capture.metrics import classification_metrics
from packager.training.report import classification_table


def test_classification_table_matches_scikit_learns_report() -> None:
    rng = np.random.default_rng(4)
    classes = np.array(["high", "low", "mid"])
    y_true = rng.choice(classes, 200, p=[0.2, 0.5, 0.3])
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.choice(classes, 200))
    test = classification_metrics(y_true, y_pred, None, classes, [])
    expected = classification_report(y_true, y_pred, labels=list(classes), output_dict=True)
    rows = {
        " ".join(line.split()[:-4]) or "header": line.split() for line in classification_table(test)
    }
    for name in ("high", "low", "mid", "macro avg", "weighted avg"):
        precision, recall, f1, support = rows[name][-4:]
        want = expected[name]
        assert float(precision) == pytest.approx(want["precision"], abs=5e-4)
        assert float(recall) == pytest.approx(want["recall"], abs=5e-4)
        assert float(f1) == pytest.approx(want["f1-score"], abs=5e-4)
        assert int(support) == want["support"]
    accuracy = [line.split() for line in classification_table(test) if line.startswith("accuracy")]
    assert float(accuracy[0][1]) == pytest.approx(expected["accuracy"], abs=5e-4)
