"""deployml's packager: capture a trained scikit-learn model and write a self-describing artefact.

Importing this package pulls in neither Flask nor click, so it is safe in a training script.
"""

from packager.artefact import Artefact, load_artefact, package, read_manifest
from packager.capture import CapturedModel, capture
from packager.manifest import FORMAT_VERSION, Manifest
from packager.schema import model_input
from packager.scoring import Examples, Scores, compare_scores, score

__all__ = [
    "FORMAT_VERSION",
    "Artefact",
    "CapturedModel",
    "Examples",
    "Manifest",
    "Scores",
    "capture",
    "compare_scores",
    "load_artefact",
    "model_input",
    "package",
    "read_manifest",
    "score",
]
