"""Request validation: payload shapes, per-value checks, novelty warnings, the number matrix."""
