"""``python -m deployml``: the same command line as the ``deployml`` script."""

from deployml.cli import main

main()
