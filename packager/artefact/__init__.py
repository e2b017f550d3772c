"""The artefact format: the manifest, its files, and reading and writing them."""
