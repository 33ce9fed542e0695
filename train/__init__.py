"""Training the readiness model (builds on ``mqa.features``)."""
