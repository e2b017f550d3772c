"""The server's branch of the error tree (drawn whole in :mod:`packager.errors`).

Client mistakes are :class:`~packager.errors.RequestError` subclasses, each carrying its HTTP
status and code; ``server.http.responses`` turns them into the one JSON error shape. Their
messages and details name features and rows, never submitted values.
:class:`VersionMismatchError` and :class:`ListenError` stop the server at start-up.
:class:`AuditUnavailableError` is the server's own failure, not the client's, but answered the
same way.
"""

from __future__ import annotations

from packager.errors import ArtefactError, DeploymlError, RequestError
from packager.review import VersionDifference
from server.settings import PREFIX

__all__ = [
    "AuditUnavailableError",
    "BodyTooLargeError",
    "EmptyBatchError",
    "InvalidInputError",
    "InvalidPayloadError",
    "InvalidTensorError",
    "ListenError",
    "MalformedJSONError",
    "NotReadyError",
    "ProfileNotApplicableError",
    "ScoringMediaTypeError",
    "TooManyRowsError",
    "UnauthorizedError",
    "UnknownModelError",
    "UnknownProfileError",
    "UnscorableInputError",
    "UnseenCategoryError",
    "UnsupportedMediaTypeError",
    "VersionMismatchError",
]

JSON_MIMETYPE = "application/json"
# One problem in a request: its row, the feature (when there is one) and what is wrong.
Detail = dict[str, object]
# Problems listed in one error. Validation stops looking once it has found one more than
# this (to know that there are more), so a request costs what its answer shows.
MAX_DETAILS = 100
# What validation collects for one error: one more than is listed, to tell there are more.
LISTED = MAX_DETAILS + 1


class MalformedJSONError(RequestError):
    """The body is not valid JSON (NaN and Infinity tokens included)."""

    status = 400
    code = "malformed_json"

    def __init__(self, where: str) -> None:
        super().__init__(
            f"the body is not valid JSON ({where}); NaN and Infinity are not JSON, "
            "send null for a missing value"
        )


class UnsupportedMediaTypeError(RequestError):
    """The request did not declare a JSON body."""

    status = 415
    code = "unsupported_media_type"

    def __init__(self, received: str) -> None:
        # The sent type is not repeated: it is request text, of any length.
        got = "another type" if received else "none"
        super().__init__(f"expected Content-Type {JSON_MIMETYPE}, got {got}")


class InvalidPayloadError(RequestError):
    """The JSON is well formed but not one of the three accepted shapes."""

    status = 400
    code = "invalid_payload"


class EmptyBatchError(RequestError):
    """The batch holds no rows."""

    status = 422
    code = "empty_batch"

    def __init__(self) -> None:
        super().__init__("the batch holds no rows; send at least one instance")


class BodyTooLargeError(RequestError):
    """The body, declared or chunked, is larger than ``DEPLOYML_MAX_REQUEST_BYTES``."""

    status = 413
    code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the body is larger than the {limit:,} bytes this server accepts: send fewer rows "
            f"per request, or raise the limit with {PREFIX}MAX_REQUEST_BYTES"
        )
        self.limit = limit


class TooManyRowsError(RequestError):
    """The batch holds more rows than ``DEPLOYML_MAX_ROWS`` allows."""

    status = 413
    code = "too_many_rows"

    def __init__(self, rows: int, limit: int) -> None:
        super().__init__(
            f"the batch holds {rows:,} rows; at most {limit:,} are allowed per request: send "
            f"smaller batches, or raise the limit with {PREFIX}MAX_ROWS"
        )
        self.rows = rows
        self.limit = limit


class InvalidInputError(RequestError):
    """Rows do not match the feature schema; details name each row and feature.

    ``found`` holds the problems in row order, at most ``MAX_DETAILS + 1`` of them: the
    first ``MAX_DETAILS`` are listed, and one more only says that there are more.
    """

    status = 422
    code = "invalid_input"

    def __init__(self, found: list[Detail]) -> None:
        details = found[:MAX_DETAILS]
        count = (
            f"more than {MAX_DETAILS} problems with the input (the first {MAX_DETAILS} are listed)"
            if len(found) > MAX_DETAILS
            else f"{len(found)} problem(s) with the input"
        )
        super().__init__(f"{count}; see GET /metadata for the schema", details)


class UnseenCategoryError(RequestError):
    """A category never seen in training that the model cannot score, or strict mode is on."""

    status = 422
    code = "unseen_category"

    def __init__(self, details: list[Detail], strict: bool) -> None:
        why = (
            "this server is configured to refuse them"
            if strict
            else "the model cannot score categories it never saw for these features"
        )
        features = sorted({str(d["feature"]) for d in details})
        super().__init__(
            f"categories not seen in training for {', '.join(features)}; {why}", details
        )


class UnscorableInputError(RequestError):
    """The model refused the validated input; its own message is withheld (it may hold values)."""

    status = 422
    code = "unscorable_input"

    def __init__(self, error_type: str) -> None:
        super().__init__(f"the model could not score this input ({error_type})")


class UnknownProfileError(RequestError):
    """The request names no profile of this model; the name sent is never repeated."""

    status = 422
    code = "unknown_profile"

    def __init__(self, known: list[str], kind: str | None = None) -> None:
        # kind: the JSON kind of a "profile" that is not a string; None for an unknown name.
        what = "names no profile of this model" if kind is None else f"is {kind}, not a name"
        super().__init__(f'"profile" {what}; its profiles are: {", ".join(known)}')


class ProfileNotApplicableError(RequestError):
    """The request names a profile, but the model makes no yes/no decision to apply one to."""

    status = 422
    code = "profile_not_applicable"

    def __init__(self, model: str) -> None:
        super().__init__(
            "profiles apply to binary classifiers that give probabilities; this model is "
            f'{model}: send the request without "profile"'
        )


class NotReadyError(RequestError):
    """The model is not ready to serve: the self-test failed."""

    status = 503
    code = "not_ready"

    def __init__(self, reason: str) -> None:
        super().__init__(f"the model is not ready: {reason}")


class AuditUnavailableError(RequestError):
    """The request's audit line cannot be written, so it is not answered (fail closed)."""

    status = 503
    code = "audit_unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason}; requests are refused until it can be written")
        self.reason = reason


class UnauthorizedError(RequestError):
    """The request carries no API key, or one not in the keys file; the key is never repeated."""

    status = 401
    code = "unauthorized"
    headers = (("WWW-Authenticate", 'Bearer realm="deployml"'),)

    def __init__(self, presented: bool) -> None:
        super().__init__(
            "the API key is not valid"
            if presented
            else "an API key is required: send Authorization: Bearer KEY or X-API-Key: KEY"
        )
        self.presented = presented


class ListenError(DeploymlError):
    """The address to serve on cannot be bound: the port is in use, or the address is not here."""

    def __init__(self, host: str, port: int, reason: str, in_use: bool = False) -> None:
        super().__init__(
            f"port {port} on {host} is in use"
            if in_use
            else f"cannot listen on {host} port {port}: {reason}"
        )
        self.host = host
        self.port = port
        self.reason = reason
        self.in_use = in_use


class VersionMismatchError(ArtefactError):
    """A fatal version difference (scikit-learn, or a package not installed) under
    DEPLOYML_STRICT_VERSIONS."""

    def __init__(self, difference: VersionDifference) -> None:
        super().__init__(
            f"the model was packaged with {difference.package} {difference.recorded} but "
            f"{difference.installed or 'none'} is installed; install the recorded version or "
            "unset DEPLOYML_STRICT_VERSIONS"
        )
        self.difference = difference


# --- Issue 13, MLflow's scoring protocol (server.protocols.mlflow) ---


class ScoringMediaTypeError(RequestError):
    """The /invocations body is neither JSON nor CSV in UTF-8 (MLflow's 415)."""

    status = 415
    code = "unsupported_media_type"

    def __init__(self, problem: str) -> None:
        # ``problem`` is ours ("got none", "got another type"...): the sent type is request text.
        super().__init__(f"expected Content-Type {JSON_MIMETYPE} or text/csv in UTF-8; {problem}")


# --- Issue 13, the Open Inference Protocol (server.protocols.oip) ---


class InvalidTensorError(RequestError):
    """An infer request whose tensors cannot be read as one column per feature; the message
    names features, never a value or a name that is not a feature."""

    status = 400
    code = "invalid_tensor"


class UnknownModelError(RequestError):
    """The URL names a model or version this server does not serve (not repeated)."""

    status = 404
    code = "unknown_model"

    def __init__(self, name: str, version: str) -> None:
        super().__init__(
            f"this server serves model {name!r} version {version!r} only; "
            "the model asked for is not served (its name is not repeated)"
        )
