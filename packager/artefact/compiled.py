"""The manifest's record of a compiled model (format 4.2): what made it, and how it was proven.

``deployml package --compile onnx`` writes the pipeline converted to ONNX as ``model.onnx``
beside the model file, only once it answered every checked row as scikit-learn does. The
record says which converter and runtime made and checked it, the ONNX operator sets, the
tolerance, how many rows of each set were checked, and the worst difference found per output.
The conversion and the proof live in ``packager/compile/``; this module only holds the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["COMPILED_FILE", "CompiledInputs", "CompiledModel", "CompiledRecord", "ToolVersion"]

COMPILED_FILE = "model.onnx"
# How the model takes its input: one float tensor of every feature in training order
# ("matrix"), or one tensor per feature, named in training order ("columns").
CompiledInputs = Literal["matrix", "columns"]


@dataclass(frozen=True)
class ToolVersion:
    """A package by name and the version that was used."""

    name: str
    version: str


@dataclass(frozen=True)
class CompiledRecord:
    """The manifest's ``compiled``: the compiled model's file, makers, and proof."""

    format: Literal["onnx"]
    path: str
    converter: ToolVersion
    runtime: ToolVersion
    opset: dict[str, int]  # operator set domain ("" is ONNX's own) to its version
    inputs: CompiledInputs
    tolerance: float  # |compiled - scikit-learn| / max(1, |scikit-learn|), every output
    rows_checked: dict[str, int] = field(default_factory=dict)  # by row set
    worst_difference: dict[str, float] = field(default_factory=dict)  # by output


@dataclass(frozen=True)
class CompiledModel:
    """A compiled model ready to write: the file's bytes and its proven record."""

    data: bytes
    record: CompiledRecord
