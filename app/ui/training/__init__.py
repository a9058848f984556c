"""Training view: start/pause/stop a run on its QThread, follow a run's metrics.json."""
