"""deployml's packager: capture a trained scikit-learn model and write a self-describing artefact.

``capture`` records a model you trained; ``train`` trains, evaluates and captures one from a
table. Importing this package pulls in neither Flask nor click (nor matplotlib, until
``train`` draws its plots), so it is safe in a training script.
"""

from packager.artefact.directory import Artefact, load_artefact, package, read_manifest
from packager.artefact.examples import Examples, Scores, compare_scores, score
from packager.artefact.manifest import FORMAT_VERSION, Manifest
from packager.artefact.schema import model_input
from packager.artefact.summary import describe
from packager.artefact.verification import Verification, verify
from packager.capture.recording import CapturedModel, capture
from packager.capture.sources import load_model_file
from packager.training.trainer import train

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
