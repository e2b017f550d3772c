"""The one error tree of deployml.

Every error a user can cause or meet is a subclass of :class:`DeploymlError`. Each class
builds its message from structured arguments and keeps them as attributes, so callers (the
CLI, the HTTP handlers) can show them without parsing text. Programming mistakes stay
built-in exceptions. Messages never contain data values from a model's inputs.

    DeploymlError                    exit code 1
    ├── ModelFileError               the model file cannot be read or is not a usable model
    │   ├── NotAnEstimatorError      the object is not a scikit-learn estimator
    │   ├── NotFittedError           the estimator has not been fitted
    │   ├── UntrustedTypesError      a skops file holds types nobody approved
    │   └── RoundTripError           the model read back from its file answers differently
    ├── CaptureError                 training data or options do not fit the model
    │   ├── DictionaryError          a data dictionary is malformed or contradicts the data
    │   ├── EdgeCaseFileError        an edge-case file is malformed (names file, case, column)
    │   └── EdgeCasesFailedError     edge cases fail, and failing ones were not allowed
    ├── TrainingError                `train` cannot make a model from this data or options
    ├── RequirementsNotMetError      a release gate (--require) failed; the model was not written
    ├── CompileError                 (packager.compile) --compile refused: the extra is missing,
    │                                a step cannot be converted, or the answers differ
    ├── ArtefactError                an artefact directory cannot be written or read
    │   ├── OutputExistsError        the output directory exists and --force was not given
    │   ├── ManifestError            the manifest is missing, malformed or lacks a field
    │   ├── FormatVersionError       the artefact was written by a newer, incompatible format
    │   ├── IntegrityError           a file is missing, or differs from its SHA-256 in the manifest
    │   ├── PickleRefusedError       the model is a pickle, and loading pickles was not allowed
    │   ├── ArtefactHashError        the artefact is not the one whose hash was pinned
    │   └── VersionMismatchError     (server.errors) a fatal version difference, refused when strict
    ├── ConfigError                  a DEPLOYML_* setting is invalid (server.settings)
    ├── AuditLogError                an audit log's chain is broken, or it cannot be read
    ├── KeysFileError                the API keys file cannot be read, or a line is malformed
    ├── ListenError                  (server.errors) the address to serve on cannot be bound
    ├── BatchError                   (server.batch) a scoring run cannot start or did not finish
    ├── ClientError                  (packager.client) a server refused a request (its error)
    │   └── ServerUnreachableError   no answer: refused, timed out or dropped connection
    └── RequestError                 an HTTP client mistake (server.errors; carries a status)

``server.errors`` subclasses ``RequestError`` for each HTTP failure, and ``packager.client``
holds the client's errors; the tree is drawn here so it is seen whole in one place.

:class:`DeploymlWarning` (a ``UserWarning``) marks a decision deployml took on the user's
behalf and carried on, such as leaving out a column of free text; the CLI prints each one as
``Warning: ...``.
"""

from __future__ import annotations

__all__ = [
    "ArtefactError",
    "ArtefactHashError",
    "AuditLogError",
    "CaptureError",
    "ConfigError",
    "DeploymlError",
    "DeploymlWarning",
    "DictionaryError",
    "EdgeCaseFileError",
    "EdgeCasesFailedError",
    "FormatVersionError",
    "IntegrityError",
    "KeysFileError",
    "ManifestError",
    "ModelFileError",
    "NotAnEstimatorError",
    "NotFittedError",
    "OutputExistsError",
    "PickleRefusedError",
    "RequestError",
    "RequirementsNotMetError",
    "RoundTripError",
    "TrainingError",
    "UntrustedTypesError",
]


class DeploymlError(Exception):
    """Base of every error deployml raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModelFileError(DeploymlError):
    """The model file cannot be read, or does not hold a usable model."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


class NotAnEstimatorError(ModelFileError):
    """The loaded object is not a scikit-learn estimator."""

    def __init__(self, path: str, type_name: str) -> None:
        super().__init__(
            path,
            f"holds a {type_name}, not a scikit-learn estimator "
            "(expected an object with fit and predict)",
        )
        self.type_name = type_name


class NotFittedError(ModelFileError):
    """The estimator has not been fitted."""

    def __init__(self, path: str, class_name: str) -> None:
        super().__init__(path, f"the {class_name} has not been fitted; call fit before packaging")
        self.class_name = class_name


class UntrustedTypesError(ModelFileError):
    """A skops file holds types that skops does not trust by default and nobody approved."""

    def __init__(self, path: str, types: list[str], reason: str, remedy: str) -> None:
        super().__init__(path, f"holds types {reason}: {', '.join(types)}; {remedy}")
        self.types = types


class RoundTripError(ModelFileError):
    """The model read back from the file just written does not answer as the one captured."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(
            path,
            "the model read back from it does not reproduce the stored example outputs "
            f"({'; '.join(problems)}); nothing was written",
        )
        self.problems = problems


class CaptureError(DeploymlError):
    """Training data, test data or options do not fit the model."""


class DictionaryError(CaptureError):
    """A data dictionary cannot be used; names the source, feature and key (never a value)."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


class EdgeCaseFileError(CaptureError):
    """An edge-case file cannot be used: it names the file, and the case and column at fault.

    The message never quotes a feature's value, only where it is and what rule it breaks.
    """

    def __init__(
        self, source: str, problem: str, case: str | None = None, column: str | None = None
    ) -> None:
        where = "".join(
            [f", case {case}" if case else "", f", column {column!r}" if column else ""]
        )
        super().__init__(f"edge cases {source}{where}: {problem}")
        self.source, self.problem, self.case, self.column = source, problem, case, column


class EdgeCasesFailedError(CaptureError):
    """Edge cases the model gets wrong; nothing is written unless failing ones are allowed."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__(
            f"{len(failures)} edge case(s) fail, so nothing was written "
            "(--allow-failing-edge-cases, or allow_failing_edge_cases=True, packages anyway and "
            "shows them as failing): " + "; ".join(failures)
        )
        self.failures = failures


class TrainingError(DeploymlError):
    """The data or options given to ``train`` cannot make a model; the message says why."""


class RequirementsNotMetError(DeploymlError):
    """A release gate failed (or measured nothing), so the model was not written.

    ``failed`` says what each failed gate measured; ``report`` is one line for every gate,
    passed or not, for the command line to print before the error.
    """

    def __init__(self, failed: list[str], report: list[str]) -> None:
        super().__init__(
            f"{len(failed)} of {len(report)} release requirement(s) not met: "
            f"{'; '.join(failed)}; nothing was written"
        )
        self.failed = failed
        self.report = report


class DeploymlWarning(UserWarning):
    """A decision taken on the user's behalf (a column left out, rows dropped), then carried on."""


class ArtefactError(DeploymlError):
    """An artefact directory cannot be written or read."""


class OutputExistsError(ArtefactError):
    """The output directory exists and overwriting was not asked for."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} already exists; pass --force to replace it")
        self.path = path


class ManifestError(ArtefactError):
    """The manifest is missing, not valid JSON, or lacks a required field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class FormatVersionError(ArtefactError):
    """The artefact was written with a newer major format version than this reader knows."""

    def __init__(self, found: str, supported: str) -> None:
        super().__init__(
            f"artefact format {found} is newer than the {supported} this deployml reads; "
            "upgrade deployml to load it"
        )
        self.found = found
        self.supported = supported


class IntegrityError(ArtefactError):
    """A file's contents differ from the SHA-256 recorded in the manifest."""

    def __init__(self, file: str, problem: str = "differs from its SHA-256") -> None:
        super().__init__(f"{file}: {problem}; the artefact was changed after packaging")
        self.file = file
        self.problem = problem


class PickleRefusedError(ArtefactError):
    """The artefact's model is a pickle, and loading pickles was not allowed."""

    def __init__(self, artefact: str, file: str, allow_with: str) -> None:
        super().__init__(
            f"artefact {artefact} holds a pickle ({file}), which runs code when loaded; "
            f"load it only if you trust whoever wrote it, with {allow_with}"
        )
        self.artefact = artefact
        self.file = file
        self.allow_with = allow_with


class ArtefactHashError(ArtefactError):
    """The artefact's hash (manifest.json's SHA-256) is not the one it was pinned to."""

    def __init__(self, found: str, expected: str) -> None:
        super().__init__(
            f"the artefact's sha256 is {found}, not the expected {expected}; refusing to load it"
        )
        self.found = found
        self.expected = expected


class ConfigError(DeploymlError):
    """A setting is invalid; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable, self.problem = variable, problem


class AuditLogError(DeploymlError):
    """An audit log cannot be read, or its chain is broken; the message says where."""


class KeysFileError(DeploymlError):
    """The API keys file cannot be read or written, or a line of it is malformed. The message
    names the file and the line, never its text: a line may hold a key pasted for its hash."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        where = path if line is None else f"{path} line {line}"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.problem = problem
        self.line = line


class RequestError(DeploymlError):
    """A client mistake in an HTTP request; subclasses in server.errors set status and code."""

    status = 400
    code = "bad_request"
    # Response headers HTTP requires with this status (WWW-Authenticate with a 401).
    headers: tuple[tuple[str, str], ...] = ()

    def __init__(self, message: str, details: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.details = details or []
