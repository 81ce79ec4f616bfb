"""Training runs: configs, tracking and registry, engines, the runner."""
