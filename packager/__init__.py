"""deployml's packager: capture a trained scikit-learn model and write a self-describing artefact.

``capture`` records a model you trained; ``train`` trains, evaluates and captures one from a
table; ``package`` writes what either made as an artefact directory. Importing this package
pulls in neither Flask nor click (nor matplotlib, until ``train`` draws its plots), so it is
safe in a training script. The work is done in three subpackages, each behind its own front
door: ``packager.artefact`` (the format), ``packager.capture``, ``packager.review`` (verify,
inspect) and ``packager.training``.
"""

from packager.artefact import (
    FORMAT_VERSION,
    Artefact,
    CapturedModel,
    Examples,
    Manifest,
    ModelDetails,
    ModelFormat,
    Outputs,
    compare_outputs,
    load_artefact,
    model_input,
    model_outputs,
    package,
    read_manifest,
)
from packager.capture import capture, load_model_file
from packager.review import Verification, summarise, verify
from packager.training import train

__all__ = [
    "FORMAT_VERSION",
    "Artefact",
    "CapturedModel",
    "Examples",
    "Manifest",
    "ModelDetails",
    "ModelFormat",
    "Outputs",
    "Verification",
    "capture",
    "compare_outputs",
    "load_artefact",
    "load_model_file",
    "model_input",
    "model_outputs",
    "package",
    "read_manifest",
    "summarise",
    "train",
    "verify",
]
