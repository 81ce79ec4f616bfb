"""``users``: add, re-role, remove and list the accounts of the users file, and list or unlock
accounts locked by failed logins (admin's tool).

Passwords are read with a hidden prompt (asked twice) or, for scripts, from one line of stdin
(``--password-stdin``); never from the command line, where other users of the machine could see
them in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from survival_core.cli.output import report
from survival_core.errors import ConfigError
from survival_core.security.roles import ROLES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``users`` command: ``add``, ``set-role``, ``remove``, ``list``, ``locks``, ``unlock``."""
    parser = subparsers.add_parser(
        "users", help="manage who may log in and their roles (the users file outside the repo)"
    )
    actions = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a local account, or an OIDC e-mail with --oidc")
    add.add_argument("username", help="login name (a-z, 0-9, . _ -), or e-mail with --oidc")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--oidc", action="store_true", help="an identity-provider e-mail, no password")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from one line of stdin"
    )
    set_role = actions.add_parser("set-role", help="change an account's role")
    set_role.add_argument("username")
    set_role.add_argument("role", choices=ROLES)
    remove = actions.add_parser("remove", help="remove an account")
    remove.add_argument("username")
    actions.add_parser("list", help="list the accounts and their roles (never the hashes)")
    actions.add_parser("locks", help="list accounts and computers locked by failed logins")
    unlock = actions.add_parser("unlock", help="unlock an account (or a computer's address) now")
    unlock.add_argument("username", help="the account, or the address `locks` lists")
    for sub in actions.choices.values():
        sub.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Repeat the password: ")
    except EOFError:  # no terminal and nothing on stdin (a script): was a traceback
        raise ConfigError(
            "No password was typed (no terminal to ask on?): give it with --password-stdin."
        ) from None
    if again != first:
        raise ConfigError("The two passwords differ; nothing was changed.")
    return first


def run(args: argparse.Namespace) -> int:
    """Apply the action to the users file and report the accounts it now holds."""
    from survival_core.audit import audit
    from survival_core.security import users
    from survival_core.security.logins import LoginAttempts

    path = users.users_file()
    action = args.users_command
    actor = f"cli:{getpass.getuser()}"
    if action in ("locks", "unlock"):
        attempts = LoginAttempts()
        if action == "unlock":
            if not attempts.unlock(args.username):
                raise ConfigError(f"{args.username!r} has no failed logins on record.")
            audit(actor, "unlock_login", args.username.strip().lower())
        report({"users_file": path, "locks": attempts.locks()}, args.json)
        return 0
    if action == "add":
        password = None if args.oidc else _password(args.password_stdin)
        done = users.add_user(args.username, args.role, password, args.name, path)
        audit(actor, "user_add", done, role=args.role)
        message = f"added {done} ({args.role})"
    elif action == "set-role":
        users.set_role(args.username, args.role, path)
        audit(actor, "role_change", args.username.strip().lower(), role=args.role)
        message = f"{args.username} is now {args.role}"
    elif action == "remove":
        users.remove_user(args.username, path)
        audit(actor, "user_remove", args.username.strip().lower())
        message = f"removed {args.username}"
    else:
        message = "listed"
    report(
        {"users_file": path, "done": message, "users": users.read_users(path).entries()}, args.json
    )
    return 0
