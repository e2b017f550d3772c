"""deployml's packager: capture a trained scikit-learn model and write a self-describing artefact.

Importing this package pulls in neither Flask nor click, so it is safe in a training script.
"""
