"""The errors of ``--compile``: the branch of deployml's one error tree (drawn in
``packager/errors.py``) that compiling adds.

    CompileError                 --compile cannot make a compiled model (the extra is missing)
    ├── UnconvertibleStepError   the converter cannot convert a step of the pipeline (named)
    └── CompiledDiffersError     the compiled model answers differently; nothing was written
"""

from __future__ import annotations

from packager.errors import DeploymlError

__all__ = ["CompileError", "CompiledDiffersError", "UnconvertibleStepError"]


class CompileError(DeploymlError):
    """The model cannot be compiled (``--compile``): the extra is missing, or it cannot be done."""


class UnconvertibleStepError(CompileError):
    """The converter has no way to convert one step of the pipeline, named by its class."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"cannot compile the model: its step {step} {reason}")
        self.step = step
        self.reason = reason


class CompiledDiffersError(CompileError):
    """The compiled model does not answer as scikit-learn does, beyond the tolerance.

    Names the rows (which set), the output and the size of the worst difference, never a
    row's values."""

    def __init__(self, rows: str, output: str, difference: str, tolerance: float) -> None:
        super().__init__(
            f"the compiled model does not answer as scikit-learn does: on the {rows}, "
            f"{output} {difference} (tolerance {tolerance:g}); nothing was written"
        )
        self.rows = rows
        self.output = output
        self.difference = difference
        self.tolerance = tolerance
