"""systlab: systematics-aware classifiers compared through one profile-likelihood pipeline."""

__version__ = "0.1.0"
