"""deployml's packager: capture a trained scikit-learn model and write a self-describing artefact.

``capture`` records a model you trained; ``train`` trains, evaluates and captures one from a
table. Importing this package pulls in neither Flask nor click (nor matplotlib, until
``train`` draws its plots), so it is safe in a training script.
"""

from packager.artefact import Artefact, load_artefact, package, read_manifest
from packager.capture import CapturedModel, capture
from packager.manifest import FORMAT_VERSION, Manifest
from packager.modelfile import load_model_file
from packager.schema import model_input
from packager.scoring import Examples, Scores, compare_scores, score
from packager.summary import describe
from packager.training import train
from packager.verification import Verification, verify

__all__ = [
    "FORMAT_VERSION",
    "Artefact",
    "CapturedModel",
    "Examples",
    "Manifest",
    "Scores",
    "Verification",
    "capture",
    "compare_scores",
    "describe",
    "load_artefact",
    "load_model_file",
    "model_input",
    "package",
    "read_manifest",
    "score",
    "train",
    "verify",
]
