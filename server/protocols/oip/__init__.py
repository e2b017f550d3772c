"""The Open Inference Protocol (KServe V2) REST routes: ``install_oip`` adds them to the app.

``routes`` holds the blueprint ``"oip"`` and its views; ``inference`` reads an infer request
into a payload and words the answer as tensors; ``signature`` describes the model's tensors;
``tensors`` decodes one column from a tensor (JSON or binary) and encodes an output.
The OpenAPI document takes each feature's datatype, the datatypes read and the binary
extension's header from here.
"""

from server.protocols.oip.inference import HEADER_LENGTH
from server.protocols.oip.routes import install_oip
from server.protocols.oip.signature import feature_datatype
from server.protocols.oip.tensors import DATATYPES

__all__ = ["DATATYPES", "HEADER_LENGTH", "feature_datatype", "install_oip"]
