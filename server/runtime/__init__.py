"""The loaded model: checked and self-tested once at start-up, then used to predict.

``load_runtime`` loads the artefact (hashes first), reports version differences, finds what
the model accepts (``probe``), re-scores the stored examples, and caps the model's threads per
worker (``threads``); the ``Runtime`` it returns predicts validated batches.
"""

from server.runtime.loaded import Runtime, load_runtime

__all__ = ["Runtime", "load_runtime"]
