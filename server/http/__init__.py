"""The HTTP layer: the app factory, routes, error responses, access log and metadata."""
