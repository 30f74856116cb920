"""Research on the live pipeline: walk-forward folds with purging and an embargo, leakage guards, overfitting
checks and parameter sweeps that run their cells as Ray tasks. Nothing here is imported by the daemon."""
