"""``serve``: start the dashboard, after refusing an address beyond localhost without a login.

The check runs before Streamlit starts, so a mis-configured server never listens at all (the app
repeats it at every page load as a second line). The address is ``--address``, else
``$STREAMLIT_SERVER_ADDRESS``, else ``server.address`` of ``.streamlit/config.toml``. A Ray
cluster set for the case pool (``RADSURV_RAY_ADDRESS``) must answer too.
"""

from __future__ import annotations

import argparse
import os
import sys

from survival_core.cli.arg_types import port
from survival_core.cli.output import report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` command."""
    parser = subparsers.add_parser(
        "serve", help="serve the dashboard (refuses a non-local address without a login)"
    )
    parser.add_argument(
        "--address", help="interface to listen on (default: .streamlit/config.toml)"
    )
    parser.add_argument("--port", type=port, default=8501, help="port to listen on (default: 8501)")
    parser.add_argument("--check", action="store_true", help="only run the pre-flight check")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int | None:
    """Check the address against the configured logins and the case pool's settings, then
    replace this process by Streamlit (``--check``: report and return)."""
    from survival_core.engine import (
        CASE_POOL_RAY_SETTING,
        case_pool_ray_address,
        case_pool_workers,
        check_reachable,
        refused_as_setting,
    )
    from survival_core.security.exposure import check_exposure, is_loopback
    from survival_core.security.users import (
        REPOSITORY,
        oidc_configured,
        read_toml,
        read_users,
        users_file,
    )

    address = (
        args.address
        or os.environ.get("STREAMLIT_SERVER_ADDRESS")
        or read_toml(REPOSITORY / ".streamlit" / "config.toml").get("server", {}).get("address")
    )
    oidc = oidc_configured()
    path = users_file()
    local = read_users(path).configured
    check_exposure(address, local or oidc, str(path))
    case_pool_workers()  # a value the case pool cannot use is named before the server starts
    ray_address = case_pool_ray_address()
    if ray_address:
        with refused_as_setting(CASE_POOL_RAY_SETTING):
            check_reachable(ray_address)
    mode = "login" if local or oidc else "demo (localhost, no login)"
    report(
        {
            "address": address,
            "local": is_loopback(address),
            "users_file": path,
            "mode": mode,
            "ray_address": ray_address,
        },
        args.json,
    )
    if args.check:
        return 0
    command = [sys.executable, "-m", "streamlit", "run", str(REPOSITORY / "app.py")]
    command += ["--server.port", str(args.port)]
    if args.address:
        command += ["--server.address", args.address]
    sys.stdout.flush()
    os.execv(sys.executable, command)
