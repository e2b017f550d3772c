"""deployml's command line, above both packager and server."""
