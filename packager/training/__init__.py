"""``deployml train``: from a table to a fitted, evaluated and captured model.

The steps, each in its own module: read the table (``table``, its date columns parsed by
``dates``), check the options (``prechecks``), decide the task and what each column is
(``columns``), build the model's pipeline (``models``), fit it with search, cross-validation
and a learning curve (``resampling``), draw the plots (``plots``), and capture it
(``trainer``, which runs them in order); ``report`` and ``progress`` are what the terminal
shows. ``package --train/--test`` and ``threshold --data`` read their tables the same way
(:class:`TableOptions`).
"""

from packager.training.columns import TASKS
from packager.training.dates import with_date_entries
from packager.training.models import MODELS, SCALERS
from packager.training.progress import TerminalProgress
from packager.training.record import DataSource
from packager.training.report import training_report
from packager.training.table import TableOptions, read_table
from packager.training.trainer import train, train_csv

__all__ = [
    "MODELS",
    "SCALERS",
    "TASKS",
    "DataSource",
    "TableOptions",
    "TerminalProgress",
    "read_table",
    "train",
    "train_csv",
    "training_report",
    "with_date_entries",
]
