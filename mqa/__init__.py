"""mqa: an open, transparent predictor of Marketing Qualified Accounts."""

__version__ = "0.1.0"
