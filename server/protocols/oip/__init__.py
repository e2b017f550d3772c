"""The Open Inference Protocol (KServe V2) REST routes: ``install_oip`` adds them to the app.

``routes`` holds the blueprint ``"oip"`` and its views; ``inference`` reads an infer request
into a payload and words the answer as tensors; ``signature`` describes the model's tensors;
``tensors`` decodes one column from a tensor (JSON or binary) and encodes an output.
"""

from server.protocols.oip.routes import install_oip

__all__ = ["install_oip"]
