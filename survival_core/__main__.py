"""``python -m survival_core <command>``: the headless command-line interface."""

from survival_core.cli.main import main

raise SystemExit(main())
