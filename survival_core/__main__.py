"""``python -m survival_core <command>``: the headless command-line interface.

``python -m`` puts the working folder first on ``sys.path``; a user's folder there named like a
module a library probes for (a download folder called ``dl``) would be imported in its place. The
command never imports from the working folder, so it leaves it out (as Python's ``-P`` would),
unless ``survival_core`` itself is found there.
"""

import sys
from pathlib import Path

_working = Path.cwd().resolve()
if _working != Path(__file__).resolve().parents[1]:
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _working]

from survival_core.cli.main import main  # noqa: E402

raise SystemExit(main())
