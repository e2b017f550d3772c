"""The local engine: each input streamed through the scorer in chunks, in constant memory.

One part per input file, in input order (``part-00000`` for the first file). Each chunk of
``job.chunk_rows`` rows is read (CSV as text, Parquet typed), scored and appended to its part
before the next is read, so memory holds one chunk and its answer whatever the inputs' size.
Parquet parts share one schema fixed before the first chunk, so every row group has the same
types; a file without rows still gets its part (a header, or a schema with no rows).
"""

from __future__ import annotations

from pathlib import Path

from server.batch.job import EngineRun, Job, Progress
from server.batch.scorer import Scorer
from server.batch.sinks import PartWriter, output_schema, part_path
from server.batch.sources import id_types, read_chunks

__all__ = ["run"]


def run(job: Job, scorer: Scorer, staging: Path, progress: Progress) -> EngineRun:
    """Score every input into ``staging``, a chunk at a time; report the chunks scored."""
    columns = list(dict.fromkeys([*job.id_columns, *scorer.feature_names]))
    names = [*job.id_columns, *scorer.output_dtypes]
    schema = None
    if job.output_format == "parquet":
        schema = output_schema(id_types(job.inputs, job.id_columns), scorer.output_dtypes)
    chunks = 0
    for index, file in enumerate(job.inputs):
        path = part_path(staging, index, job.output_format)
        with PartWriter(path, job.output_format, names, schema) as writer:
            for chunk in read_chunks(file, columns, job.chunk_rows):
                if len(chunk) == 0:
                    continue
                writer.write(scorer.score(chunk))
                chunks += 1
                progress(len(chunk))
    return EngineRun(parts=len(job.inputs), partitions=chunks)
