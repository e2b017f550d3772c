"""The loaded model: checks at start-up, the self-test, probes and prediction."""
