"""The manifest's and examples.json's structure: malformed files are refused in one line naming
the field, by the reader and by ``inspect``, ``verify`` and ``serve``; a fuzz of single-field
mutations of a real trained manifest never gets past the reader as anything but such an error."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from click.testing import Result

from packager import package
from packager.artefact import Examples, Manifest, load_artefact, read_manifest
from packager.artefact.files import file_record
from packager.artefact.manifest import (
    FORMAT_VERSION,
    EstimatorInfo,
    FeatureSpec,
    FileRecord,
    InputSpec,
    ModelFile,
    ModelInfo,
    Provenance,
    TargetSpec,
)
from packager.artefact.manifest_schema import MAX_DEPTH, _load, manifest_from_dict, schema_for
from packager.errors import DeploymlError, ManifestError
from packager.evaluation import EvaluationPlan
from packager.review import summarise, verify
from packager.training import train_csv
from server import Settings, create_app

Mutate = Callable[[dict[str, Any]], None]

NEXT_MAJOR = f"{int(FORMAT_VERSION.split('.')[0]) + 1}.0"


@pytest.fixture(scope="module")
def trained_artefact(passengers_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `deployml train` artefact: every manifest field, `training`, cross-validation and
    subgroups too."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        captured = train_csv(
            passengers_csv,
            "Survived",
            model="logistic-regression",
            plots=False,
            cv=3,
            search=True,
            evaluation=EvaluationPlan(subgroups=("Sex",)),
        )
    return package(captured, tmp_path_factory.mktemp("trained") / "trained")


def _copy(artefact: Path, tmp_path: Path, change: Mutate | None = None) -> Path:
    copy = Path(shutil.copytree(artefact, tmp_path / "copy"))
    if change is not None:
        data = json.loads((copy / "manifest.json").read_text())
        change(data)
        text = json.dumps(data).replace(f'"{_DEEP}"', "[" * 100_000 + "]" * 100_000)
        (copy / "manifest.json").write_text(text)
    return copy


_DEEP = "nested 100,000 levels deep"


def _nest(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def _feature(data: dict[str, Any]) -> dict[str, Any]:
    feature: dict[str, Any] = data["input"]["features"][0]
    return feature


# The hostile run's findings, and more: each change, and the field the refusal must name.
MALFORMED: list[tuple[str, Mutate, str]] = [
    ("deep nesting", lambda d: d["estimator"].update(params={"a": _nest(100)}), "nested more"),
    ("very deep nesting", lambda d: d["estimator"].update(params={"a": _DEEP}), "too deeply"),
    ("a list for an object", lambda d: d.update(model=["a"]), "model must be an object"),
    ("a name that is a list", lambda d: _feature(d).update(name=["x"]), ".name must be a string"),
    ("a name that is a number", lambda d: _feature(d).update(name=3), ".name must be a string"),
    (
        "duplicate features",
        lambda d: d["input"]["features"].append(_feature(d)),
        "input.features repeat a feature's name",
    ),
    ("no features", lambda d: d["input"].update(features=[]), "input.features must list"),
    ("training of unknown keys", lambda d: d.update(training={"a": 1}), "training.data is req"),
    ("min as text", lambda d: _feature(d).update(min="abc"), "features[0].min must be a number"),
    (
        "NaN",
        lambda d: _feature(d).update(max=float("nan")),
        "features[0].max must be a number, not NaN",
    ),
    (
        "a huge whole number",
        lambda d: d["estimator"].update(n_training_rows=10**20),
        "estimator.n_training_rows is a number beyond 64 bits",
    ),
    (
        "a huge number in a free-form field",
        lambda d: d["training"]["options"].update(seed=10**20),
        "training.options.seed holds a number beyond 64 bits",
    ),
    (
        "categories that are not a list",
        lambda d: _feature(d).update(categories="abc"),
        "categories must be a list",
    ),
    ("a kind unknown", lambda d: _feature(d).update(kind="text"), "kind must be one of"),
    ("a boolean for a number", lambda d: _feature(d).update(missing_rate=True), "missing_rate"),
    (
        "a file record without its hash",
        lambda d: d["files"]["requirements.txt"].pop("sha256"),
        "files['requirements.txt'].sha256 is required",
    ),
    ("files as a list", lambda d: d.update(files=[]), "files must be an object"),
    ("a null model file", lambda d: d.update(model_file=None), "model_file must not be null"),
    ("the task as a number", lambda d: d["target"].update(task="b"), "target.task must be one of"),
    ("no format version", lambda d: d.pop("format_version"), "format_version must be a string"),
]


@pytest.mark.parametrize(
    ("change", "named"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_manifest_is_refused_in_one_line_naming_the_field(
    trained_artefact: Path, tmp_path: Path, runner: Any, change: Mutate, named: str
) -> None:
    copy = _copy(trained_artefact, tmp_path, change)
    with pytest.raises(ManifestError, match=r"manifest\.json: ") as raised:
        read_manifest(copy)
    assert named in raised.value.message
    assert "\n" not in raised.value.message
    for command in ("inspect", "verify"):
        result: Result = runner(command, copy)
        assert result.exit_code == 1, result.output
        assert named in result.output
        assert "Traceback" not in result.output
    with pytest.raises(ManifestError, match=r"manifest\.json: "):
        create_app(Settings(artefact=copy))


def test_the_message_never_quotes_a_huge_key(binary_artefact: Path, tmp_path: Path) -> None:
    key = "patient-name-" + "x" * 10_000
    copy = _copy(binary_artefact, tmp_path, lambda d: d["files"].update({key: {"bytes": 1}}))
    with pytest.raises(ManifestError) as raised:
        read_manifest(copy)
    assert "sha256 is required" in raised.value.message
    assert len(raised.value.message) < 400


def test_unknown_fields_are_ignored_at_every_level(trained_artefact: Path, tmp_path: Path) -> None:
    def add_fields(data: dict[str, Any]) -> None:
        data["format_version"] = "2.9"
        data["signature"] = {"kind": "x509"}
        data["model_file"]["compression"] = "deflate"
        _feature(data)["unit"] = "mmol/L"
        data["files"]["model.skops"]["mode"] = "0644"
        data["training"]["data"]["encoding"] = "utf-8"

    manifest, _ = read_manifest(_copy(trained_artefact, tmp_path, add_fields))
    assert manifest.model_file.path == "model.skops"
    assert not hasattr(manifest.model_file, "compression")
    # The free-form objects keep what they do not know, for /metadata.
    assert manifest.training is not None
    assert manifest.training["data"]["encoding"] == "utf-8"


def test_a_newer_major_is_named_before_its_structure_is_checked(
    binary_artefact: Path, tmp_path: Path
) -> None:
    copy = _copy(binary_artefact, tmp_path, lambda d: d.update(format_version=NEXT_MAJOR, model=1))
    with pytest.raises(DeploymlError, match=rf"artefact format {NEXT_MAJOR} is newer"):
        read_manifest(copy)


@pytest.mark.parametrize(
    "built",
    [
        Manifest,
        ModelInfo,
        ModelFile,
        EstimatorInfo,
        InputSpec,
        FeatureSpec,
        TargetSpec,
        Provenance,
        FileRecord,
    ],
)
def test_every_field_of_the_manifest_classes_is_in_its_schema(built: Any) -> None:
    assert set(schema_for(built)().fields) == {field.name for field in dataclasses.fields(built)}


@dataclasses.dataclass(frozen=True)
class _Added:
    """A manifest class as another branch may add one: its types alone give its schema."""

    count: int
    kind: Literal["a", "b"]
    names: list[str] | None = None
    share: dict[str, float] = dataclasses.field(default_factory=dict)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"kind": "a"}, "count is required"),
        ({"count": -1, "kind": "a"}, "count must not be negative"),
        ({"count": True, "kind": "a"}, "count must be a whole number"),
        ({"count": 1, "kind": "c"}, "kind must be one of a, b"),
        ({"count": 1, "kind": "a", "names": [1]}, "names[0] must be a string"),
        ({"count": 1, "kind": "a", "share": {"x": "y"}}, "share.x must be a number"),
        ({"count": 1, "kind": "a", "share": None}, "share must not be null"),
    ],
)
def test_a_field_added_to_a_manifest_class_is_checked_from_its_type(
    data: dict[str, Any], problem: str
) -> None:
    schema = schema_for(_Added)()
    assert schema.load({"count": 1, "kind": "b", "names": None}) == _Added(1, "b")
    with pytest.raises(ManifestError, match=re.escape(f"manifest.json: {problem}")):
        _load(schema, data, "manifest.json")


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every field path of ``value``, lists sampled by their first two items."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:2]):
            yield from _paths(item, (*path, index))


_DELETE = object()
# Each field becomes: absent, null, a list, an object, a number, a string, a huge nesting,
# a boolean, a number beyond 64 bits, an empty string.
_REPLACEMENTS = (
    *(_DELETE, None, [1, "a"], {"a": 1}, -1.5, "abc", _nest(MAX_DEPTH + 10)),
    *(True, 2**70, ""),
)


def _mutated(text: str, path: tuple[Any, ...], replacement: Any) -> Any:
    data = json.loads(text)
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if replacement is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return data


def test_single_field_mutations_never_raise_anything_but_one_line_errors(
    trained_artefact: Path, tmp_path: Path
) -> None:
    text = (trained_artefact / "manifest.json").read_text()
    mutations = [(path, value) for path in _paths(json.loads(text)) for value in _REPLACEMENTS]
    assert len(mutations) > 2000
    accepted = []
    for path, value in mutations:
        data = _mutated(text, path, value)
        try:
            manifest = manifest_from_dict(data)
            # What inspect does with an accepted manifest: summarise it, or print it as JSON.
            summarise(manifest, "0" * 64)
            json.dumps(manifest.to_dict())
        except DeploymlError as error:
            assert "\n" not in error.message, path
            assert len(error.message) < 400, path
        else:
            accepted.append((path, value))
    # Accepted: changes to free-form or optional fields. Those near what verify and the
    # server read are tried on disk too.
    risky = [m for m in accepted if m[0][0] in ("input", "target", "model_file", "files")]
    assert risky
    for path, value in risky[:: max(1, len(risky) // 6)]:
        copy = tmp_path / "mutated"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(trained_artefact, copy)
        (copy / "manifest.json").write_text(json.dumps(_mutated(text, path, value)))
        verify(copy)
        try:
            app = create_app(Settings(artefact=copy))
        except DeploymlError:
            continue
        client = app.test_client()
        assert client.get("/metadata").status_code == 200
        inputs = load_artefact(copy).examples.inputs
        # 503 while not ready is an answer; a 500 would be a crash.
        assert client.post("/predict", json={"instances": inputs}).status_code != 500, path


MALFORMED_EXAMPLES: list[tuple[str, Mutate, str]] = [
    ("a list", lambda d: d.update(inputs={"a": 1}), "inputs must be a list"),
    ("a row that is a list", lambda d: d["inputs"].__setitem__(0, [1]), "inputs[0] must be an"),
    (
        "a value that is an object",
        lambda d: d["inputs"][0].update(age={"a": 1}),
        "inputs[0].age must be a string, number or boolean",
    ),
    ("predictions missing", lambda d: d.pop("predictions"), "predictions is required"),
    ("fewer predictions", lambda d: d["predictions"].pop(), "predictions must be a list as long"),
    (
        "a probability as text",
        lambda d: d["probabilities"][1].__setitem__(0, "high"),
        "probabilities[1][0] must be a number",
    ),
    (
        "a huge number",
        lambda d: d["inputs"][0].update(age=2**70),
        "inputs[0].age is a number beyond",
    ),
]


@pytest.mark.parametrize(
    ("change", "named"),
    [m[1:] for m in MALFORMED_EXAMPLES],
    ids=[m[0] for m in MALFORMED_EXAMPLES],
)
def test_malformed_examples_are_refused_in_one_line_naming_the_field(
    pipeline_artefact: Path, tmp_path: Path, runner: Any, change: Mutate, named: str
) -> None:
    copy = Path(shutil.copytree(pipeline_artefact, tmp_path / "copy"))
    examples = json.loads((copy / "self_test.json").read_text())
    change(examples)
    (copy / "self_test.json").write_text(json.dumps(examples))
    # Re-recorded, so that only the structure is wrong.
    data = json.loads((copy / "manifest.json").read_text())
    data["files"]["self_test.json"] = dataclasses.asdict(file_record(copy / "self_test.json"))
    (copy / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=r"self_test\.json: ") as raised:
        load_artefact(copy)
    assert named in raised.value.message
    result: Result = runner("verify", copy)
    assert result.exit_code == 1
    assert f"FAIL  self-test: {copy / 'self_test.json'}: {named}" in result.output


def test_single_field_mutations_of_examples_give_one_line_errors_or_examples(
    pipeline_artefact: Path,
) -> None:
    text = (pipeline_artefact / "self_test.json").read_text()
    mutations = [(path, value) for path in _paths(json.loads(text)) for value in _REPLACEMENTS]
    assert len(mutations) > 50
    for path, value in mutations:
        try:
            examples = Examples.from_dict(_mutated(text, path, value))
        except DeploymlError as error:
            assert "\n" not in error.message, path
        else:
            assert len(examples.predictions) == len(examples.inputs), path
