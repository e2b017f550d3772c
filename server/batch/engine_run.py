"""Stand-ins for job.py's EngineRun and sinks/sources' part writing until helper F's land."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from packager.errors import DeploymlError

_ARROW_TYPES = {"Int64": "int64", "Float64": "float64", "boolean": "bool", "string": "string"}


@dataclass(frozen=True)
class EngineRun:
    """What an engine did: part files written, partitions, where, its packages' versions."""

    parts: int
    partitions: int
    address: str | None
    versions: dict[str, str] = field(default_factory=dict)


class ExtraMissingError(DeploymlError):
    """A run needs a package of an extra that is not installed."""

    def __init__(self, needed_for: str, package: str, extra: str) -> None:
        super().__init__(
            f"{needed_for} needs {package}, which is not installed: pip install 'deployml[{extra}]'"
        )


def part_path(staging: Path, index: int, output_format: str) -> Path:
    return staging / f"part-{index:05d}.{output_format}"


def id_types(files: Sequence[Any], id_columns: Sequence[str]) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not files or files[0].format == "csv":
        return {column: pa.string() for column in id_columns}
    schema = pq.read_schema(files[0].path)
    return {column: schema.field(column).type for column in id_columns}


def output_schema(id_types: Mapping[str, Any], output_dtypes: Mapping[str, str]) -> Any:
    import pyarrow as pa

    fields = [pa.field(name, kind) for name, kind in id_types.items()]
    fields += [pa.field(n, pa.type_for_alias(_ARROW_TYPES[d])) for n, d in output_dtypes.items()]
    return pa.schema(fields)


class PartWriter:
    def __init__(self, path: Path, output_format: str, columns: Sequence[str], schema: Any = None):
        self.path, self.output_format, self.schema = path, output_format, schema

    def write(self, frame: pd.DataFrame) -> None:
        if self.output_format == "csv":
            frame.to_csv(self.path, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(
                pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False), self.path
            )

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *args: Any) -> None:
        pass
