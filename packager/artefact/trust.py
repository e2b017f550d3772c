"""Which types a skops model file may hold: the built-in allow-list, and the trust policy.

skops rebuilds only the types it trusts by default (plain containers, numpy arrays, most
scikit-learn estimators); anything else it refuses unless told to trust it by name. Fitted
scikit-learn models commonly hold a few such types, listed in :data:`KNOWN_TYPES`: each was
found by ``skops.io.get_untrusted_types`` on a model ``deployml train`` offers or on a common
estimator, and reviewed as data (a tree's nodes, a dtype, a distance metric) whose loading
runs no code chosen by the file. Generic callables (``functools.partial``, ``builtins.*``)
and private helpers that change between versions are left out on purpose.

The policy, applied at package time by :func:`approve`: a type on the list or passed with
``--trust`` is approved, and recorded in the manifest's ``model_file.trusted_types``; any
other refuses packaging, naming each. At load time :func:`check_recorded` refuses a file
holding a type the manifest did not record, so an edited file cannot widen what is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable

from packager.errors import UntrustedTypesError

__all__ = ["KNOWN_TYPES", "approve", "check_recorded"]

_TREES = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)
_NEIGHBOURS = (
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.HaversineDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
)
_FITTED_PARTS = (
    # SimpleImputer, KBinsDiscretizer and IterativeImputer keep the dtype they saw.
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration._TemperatureScaling",
    "sklearn.impute._iterative.IterativeImputer",
    "sklearn.impute._iterative._ImputerTriplet",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    # VotingClassifier and StackingClassifier keep their named estimators in a Bunch.
    "sklearn.utils._bunch.Bunch",
)
_KERNELS = (
    "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
    "sklearn.gaussian_process.kernels.ConstantKernel",
    "sklearn.gaussian_process.kernels.DotProduct",
    "sklearn.gaussian_process.kernels.Matern",
    "sklearn.gaussian_process.kernels.Product",
    "sklearn.gaussian_process.kernels.RBF",
    "sklearn.gaussian_process.kernels.RationalQuadratic",
    "sklearn.gaussian_process.kernels.Sum",
    "sklearn.gaussian_process.kernels.WhiteKernel",
)
# SelectKBest and SelectPercentile keep their score function, which is looked up by name.
_SCORE_FUNCTIONS = (
    "sklearn.feature_selection._mutual_info.mutual_info_classif",
    "sklearn.feature_selection._mutual_info.mutual_info_regression",
    "sklearn.feature_selection._univariate_selection.chi2",
    "sklearn.feature_selection._univariate_selection.f_classif",
    "sklearn.feature_selection._univariate_selection.f_regression",
)

KNOWN_TYPES = frozenset((*_TREES, *_NEIGHBOURS, *_FITTED_PARTS, *_KERNELS, *_SCORE_FUNCTIONS))
"""Types skops does not trust by default that deployml approves without being asked."""


def approve(found: Iterable[str], trust: Iterable[str], source: str) -> list[str]:
    """The sorted types of ``found`` to record, or UntrustedTypesError naming each unapproved one.

    ``found`` are the types skops does not trust by default in the file ``source``; ``trust``
    are the ones the user approved besides :data:`KNOWN_TYPES`.
    """
    found = sorted(set(found))
    approved = KNOWN_TYPES | set(trust)
    refused = [name for name in found if name not in approved]
    if refused:
        flags = " ".join(f"--trust {name}" for name in refused)
        raise UntrustedTypesError(
            source,
            refused,
            "that deployml does not know to be safe to load",
            f"nothing was written; approve each only if you trust its code, with {flags}",
        )
    return found


def check_recorded(found: Iterable[str], recorded: Iterable[str], source: str) -> None:
    """Raise UntrustedTypesError unless every type of ``found`` was recorded at packaging."""
    extra = sorted(set(found) - set(recorded))
    if extra:
        raise UntrustedTypesError(
            source,
            extra,
            "that its manifest does not approve",
            "it was changed after packaging, so it was not loaded",
        )
