"""``deployml train``: from a table to a fitted, evaluated and captured model."""
