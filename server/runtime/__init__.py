"""The loaded model: checked and self-tested once at start-up, then used to predict.

``load_runtime`` loads the artefact (hashes first), reports version differences, finds what
the model accepts (``probe``), re-scores the stored examples, and caps the model's threads per
worker (``threads``); forests and scaled linear models are scored with their own arithmetic
when start-up shows that exact (``exact``). The ``Runtime`` it returns predicts validated
batches, and its ``profiles`` (``profiles``) turn a binary classifier's probabilities into
decisions. ``score`` is the one path from a payload to scored rows and decisions, for every
protocol and for batch runs.
"""

from server.runtime.loaded import Runtime, load_runtime
from server.runtime.profiles import Profiles, ServedProfile
from server.runtime.scoring import Scored, keyed, score

__all__ = ["Profiles", "Runtime", "Scored", "ServedProfile", "keyed", "load_runtime", "score"]
