"""The command line's option sets, each applied to a command as one decorator.

``details_options`` gathers the eight options that describe a model into one ``details``
value (a :class:`~packager.ModelDetails`); the others group what a command takes (how CSV
files are read, and the data dictionary, are in :mod:`deployml.table_options`). Bounds and
defaults come from their owners (``server.settings``, ``packager.training``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar, cast, get_args

import click

from packager import ModelDetails
from packager.artefact import MAX_CATEGORIES, MODEL_FORMATS, ExampleRows
from packager.capture import DEFAULT_VERSION
from packager.compile import COMPILERS
from packager.errors import ConfigError
from packager.training import MODELS, SCALERS, TASKS
from server.settings import PORTS, PREFIX, WORKERS, Settings

__all__ = [
    "ARTEFACT_OPTIONS",
    "artefact_options",
    "data_options",
    "details_options",
    "model_file_options",
    "output_option",
    "serve_options",
    "settings_from_options",
    "train_options",
]

F = TypeVar("F", bound=Callable[..., Any])


def _together(*options: Callable[[F], F]) -> Callable[[F], F]:
    """One decorator applying ``options`` in the order they are listed (as --help shows them)."""

    def apply(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


_details = _together(
    click.option("--name", help="Model name."),
    click.option("--model-version", "version", help=f"Model version (default {DEFAULT_VERSION})."),
    click.option("--description", help="What the model predicts, in a sentence."),
    click.option("--author", help="Who trained the model."),
    click.option("--organisation", help="The organisation responsible for it."),
    click.option("--contact", help="Whom to contact about it."),
    click.option("--intended-use", help="What it is for and whom."),
    click.option("--limitations", help="What it must not be used for."),
)


def details_options(command: F) -> F:
    """The options that describe a model, passed to ``command`` as one ``details`` value."""
    names = [field.name for field in fields(ModelDetails)]

    @functools.wraps(command)
    def gather(**kwargs: Any) -> Any:
        details = ModelDetails(**{name: kwargs.pop(name) for name in names})
        return command(details=details, **kwargs)

    return _details(cast(F, gather))


def output_option(help: str, default: str | None = None) -> Callable[[F], F]:
    """``-o/--output``: required unless a default is given."""
    if default is None:
        return click.option(
            "-o", "--output", required=True, type=click.Path(path_type=Path), help=help
        )
    return click.option(
        "-o",
        "--output",
        default=default,
        show_default=True,
        type=click.Path(path_type=Path),
        help=help,
    )


model_file_options = _together(
    click.option(
        "--format",
        "model_format",
        type=click.Choice(list(MODEL_FORMATS)),
        default="skops",
        show_default=True,
        help="skops loads only approved types; pickle runs any code it holds when loaded.",
    ),
    click.option(
        "--trust",
        multiple=True,
        metavar="TYPE",
        help="Approve a type skops does not trust, besides the built-in list (repeatable).",
    ),
    click.option(
        "--compile",
        "compiler",
        type=click.Choice(list(COMPILERS)),
        default=None,
        help="Also write model.onnx, proven to answer as scikit-learn does (the onnx extra).",
    ),
)
"""How `package` and `train` write the model file: its format, the types approved in it, and
a compiled copy."""

data_options = _together(
    click.option(
        "--train",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Training data CSV, for a plain pickled estimator.",
    ),
    click.option(
        "--test",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Test data CSV (needs --train), for metrics.",
    ),
    click.option("--target", help="The target column of --train and --test."),
    click.option(
        "--examples",
        type=click.Choice(get_args(ExampleRows)),
        help="Rows /metadata shows (needs --train): synthetic (the default), real "
        "(the first test rows, stored in examples.json) or none.",
    ),
)
"""A plain pickled estimator's training and test data, for `package`."""

train_options = _together(
    click.argument("data_file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
    click.option("--target", required=True, help="The column to predict."),
    click.option(
        "--model",
        "model_name",
        type=click.Choice(MODELS),
        default="random-forest",
        show_default=True,
        help="The model to fit.",
    ),
    click.option(
        "--task",
        type=click.Choice(["auto", *TASKS]),
        default="auto",
        show_default=True,
        help="auto: classification for labels and few whole numbers, else regression.",
    ),
    click.option("--drop", multiple=True, help="A column to leave out (repeat for more)."),
    click.option(
        "--categorical",
        multiple=True,
        help="A numeric column to one-hot encode as categories (repeat for more).",
    ),
    click.option(
        "--keep",
        multiple=True,
        metavar="COLUMN",
        help="A column to use although it looks like an identifier (repeat for more).",
    ),
    click.option(
        "--scale",
        type=click.Choice(SCALERS),
        default="standard",
        show_default=True,
        help="Scaling of numeric columns.",
    ),
    click.option(
        "--test-size",
        type=click.FloatRange(0, 1, min_open=True, max_open=True),
        default=0.25,
        show_default=True,
        help="Fraction of rows held out for testing.",
    ),
    click.option(
        "--seed",
        type=click.IntRange(0, 2**32 - 1),
        default=0,
        show_default=True,
        help="Seed of the split, the folds and the model.",
    ),
    click.option("--cv", type=click.IntRange(min=2), help="Cross-validate with K folds too."),
    click.option("--search", is_flag=True, help="Choose hyperparameters from a small grid."),
    click.option(
        "--class-weight",
        type=click.Choice(["none", "balanced"]),
        default="none",
        show_default=True,
        help="balanced: weigh classes inversely to their frequency.",
    ),
    click.option(
        "--max-categories",
        type=click.IntRange(min=2),
        default=MAX_CATEGORIES,
        show_default=True,
        help="Text columns with more distinct values are left out.",
    ),
    click.option(
        "--examples",
        type=click.Choice(get_args(ExampleRows)),
        default="synthetic",
        show_default=True,
        help="Rows /metadata shows: synthetic (made from the schema), real (the first test "
        "rows, stored in examples.json) or none.",
    ),
    click.option("--no-plots", is_flag=True, help="Skip the plots and the learning curve."),
    click.option(
        "--no-package",
        is_flag=True,
        help="Write a capture file (e.g. model.pkl) at --output instead of an artefact.",
    ),
    output_option("Artefact directory (or capture file) to write; must not exist unless --force."),
    click.option("--force", is_flag=True, help="Replace an existing output."),
)
"""Everything `train` takes but the output and the model's details."""

artefact_options = _together(
    click.option(
        "--allow-pickle",
        is_flag=True,
        default=None,
        help="Load a pickled model, which runs its code (default: DEPLOYML_ALLOW_PICKLE).",
    ),
    click.option(
        "--expected-sha256",
        metavar="SHA256",
        help="Load only the artefact with this hash (default: DEPLOYML_EXPECTED_SHA256).",
    ),
    click.option(
        "--profile",
        metavar="NAME",
        help="The threshold profile binary decisions use when a request names none "
        "(default: DEPLOYML_PROFILE, else the artefact's default).",
    ),
)
"""How `serve` and `score` load the artefact (which one it must be, whether a pickle may run)
and which profile decides; unset ones come from DEPLOYML_* variables."""

# The artefact options, by the variable (without its prefix) each one overrides.
ARTEFACT_OPTIONS = {
    "ALLOW_PICKLE": "--allow-pickle",
    "EXPECTED_SHA256": "--expected-sha256",
    "PROFILE": "--profile",
}


def settings_from_options(given: Mapping[str, Any], options: Mapping[str, str]) -> Settings:
    """Settings from DEPLOYML_* variables, the options given (not None) taking precedence.

    ``given`` maps variables without their prefix to option values (a flag's True reads as
    true); ``options`` names the option of each, so a bad value is refused naming the option.
    """
    overrides = {key: str(value) for key, value in given.items() if value is not None}
    try:
        return Settings.from_env(overrides=overrides)
    except ConfigError as error:
        name = error.variable.removeprefix(PREFIX)
        if name not in overrides or name not in options:
            raise
        raise click.BadParameter(error.problem, param_hint=options[name]) from None


serve_options = _together(
    click.argument(
        "artefact_dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        required=False,
    ),
    click.option("--host", help=f"Address to bind (default: DEPLOYML_HOST or {Settings.host})."),
    click.option(
        "--port",
        type=click.IntRange(*PORTS),
        help=f"Port (default: DEPLOYML_PORT or {Settings.port}).",
    ),
    click.option(
        "--workers",
        type=click.IntRange(*WORKERS),
        help=f"Worker processes (default: DEPLOYML_WORKERS or {Settings.workers}).",
    ),
    artefact_options,
)
"""Where `serve` finds the artefact (and which one it must be), binds, and which profile decides;
unset ones come from DEPLOYML_* variables."""
