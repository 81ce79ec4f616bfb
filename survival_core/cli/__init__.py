"""Command-line interface: one module per command, registered in :mod:`survival_core.cli.main`."""
