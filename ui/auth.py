"""Who uses this session and what they may do: the login in the sidebar, demo mode, role checks.

Login is required unless nobody is configured to log in and the server is bound to localhost
(demo mode: a local "demo" user with every role). Local accounts log in with the bcrypt-hashed
passwords of the users file (``survival_core.security.users``, streamlit-authenticator's
layout); an identity provider through Streamlit's ``st.login`` when ``.streamlit/secrets.toml``
has an ``[auth]`` section, its e-mail mapped to a role in the same users file. No re-login
cookie: a new browser session logs in again.

The seam, read by ``current_user()`` and set by tests:

- a local login is ``st.session_state["authentication_status"] is True`` with
  ``st.session_state["username"]`` (streamlit-authenticator's names) and
  ``st.session_state["radsurv_credential"]`` (the fingerprint of the password hash it logged in
  with, ``Users.credential``: a password reset ends the session), written only by
  ``_local_login`` after the password matched its bcrypt hash (no widget uses these keys, so a
  browser cannot set them);
- an OIDC login is ``st.user`` (``is_logged_in`` and ``email``, set by Streamlit's auth flow).

Neither carries the role: it is read from the users file on every run, so a changed role or a
removed account takes effect at the next click.

Guessing is slowed and stopped by ``survival_core.security.logins``: each failed login makes the
account's (and the client address's) next attempt wait longer, and repeated failures lock the
account for a while, its correct password included; every refusal and lock is audited. A session
left idle longer than ``RADSURV_SESSION_IDLE_MINUTES`` is logged out at its next click. ``require(action)`` is called at the top of
every page; as every click reruns the page from the top, that check covers the page's buttons,
and a further ``require`` guards only a stricter action inside a page (upload on the Case page,
an explanation overlay on the Viewer, promotion on the Training page). A click in an
``st.fragment`` (the jobs panel) reruns the fragment alone, so its code checks with
``require_in_fragment``. The navigation lists only the pages the user's role may open, but a page
reached by its URL refuses on its own.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from survival_core.audit import audit
from survival_core.errors import ConfigError, RadSurvError
from survival_core.security.exposure import check_exposure
from survival_core.security.logins import LoginAttempts, LoginPolicy, unknown_name
from survival_core.security.roles import PermissionDenied, allowed, authorize
from survival_core.security.users import Users, read_users, sign_on_set_up
from survival_core.text import markdown_literal
from ui.state import show_error

log = logging.getLogger(__name__)

AUTH_STATUS = "authentication_status"
#: Audit entries this session already wrote (a rerun does not repeat them).
AUDITED = "radsurv_audited"
USERNAME = "username"
#: The account's password fingerprint the session logged in with (Users.credential).
CREDENTIAL = "radsurv_credential"
#: When this session last ran a page while logged in (epoch seconds), for the idle limit.
LAST_SEEN = "radsurv_last_seen"
#: Set when the idle limit ended the session: the message to show.
ENDED = "radsurv_session_ended"
#: Why the last login attempt was refused (shown under the form).
LOGIN_ERROR = "radsurv_login_error"
DEMO_LABEL = "demo mode (localhost, no login)"
#: Pause after a wrong password (s): slows guessing without bothering someone who mistyped.
FAILED_LOGIN_DELAY_S = 1.0


@dataclass(frozen=True)
class User:
    """The person behind this session: display name, role, how they logged in."""

    name: str
    role: str
    via: str  # "local", "oidc" or "demo"


DEMO_USER = User("demo", "admin", "demo")


def _oidc_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` sets up ``st.login`` (:func:`sign_on_set_up`, the
    rule the ``users`` command counts OIDC admins by)."""
    try:
        return sign_on_set_up(st.secrets)
    except FileNotFoundError:  # no secrets.toml at all
        return False


def _settings() -> tuple[Users, bool]:
    """The users file and whether OIDC is on; refuses (ConfigError) a non-local address when
    neither lets anyone log in."""
    users = read_users()
    oidc = _oidc_configured()
    check_exposure(st.get_option("server.address"), users.configured or oidc, str(users.path))
    return users, oidc


def _check_a_login_works(users: Users, oidc: bool) -> None:
    """Refuse (ConfigError saying how to add an account) a users file of OIDC identities alone
    while single sign-on is off: the login screen said to log in and offered no way to."""
    if users.oidc and not users.local and not oidc:
        raise ConfigError(
            f"Nobody can log in: the users file {users.path} holds only single sign-on (OIDC) "
            "identities, and single sign-on is not set up ([auth] in .streamlit/secrets.toml). "
            "On the server, add an account with `python -m survival_core users add NAME --role "
            "admin`, or set up [auth]."
        )


def _signed_in(users: Users) -> bool:
    """Whether this session's local account still exists with the password it logged in with
    (removed, or reset by removing and adding it again, it is logged out at its next click)."""
    username = st.session_state.get(USERNAME) or ""
    return users.local_role(username) is not None and st.session_state.get(
        CREDENTIAL
    ) == users.credential(username)


def _user_from(users: Users, oidc: bool) -> User | None:
    if not users.configured and not oidc:
        return DEMO_USER
    username = st.session_state.get(USERNAME)
    if st.session_state.get(AUTH_STATUS) is True and username and _signed_in(users):
        return User(users.display_name(username), users.local_role(username) or "", "local")
    if oidc and st.user.get("is_logged_in") and st.user.get("email"):
        role = users.oidc_role(str(st.user.get("email")))
        if role is not None:
            return User(str(st.user.get("name") or st.user.get("email")), role, "oidc")
    return None


def current_user() -> User | None:
    """This session's user (None when nobody is logged in); raises ConfigError when the server
    is reachable from other machines without any login configured."""
    return _user_from(*_settings())


def permitted(action: str) -> bool:
    """Whether this session's user may perform ``action`` (no message; for hiding controls)."""
    try:
        user = current_user()
    except RadSurvError:
        return False
    return user is not None and allowed(user.role, action)


def require(action: str) -> User:
    """This session's user if their role allows ``action``; otherwise a clear refusal on the page
    (who is refused what, and why) and the script stops there."""
    user = None
    try:
        user = current_user()
        if user is None:
            raise PermissionDenied("Log in (in the sidebar) to use RadSurv.")
        authorize(user.role, action)
    except RadSurvError as err:
        if isinstance(err, PermissionDenied) and user is not None:
            record("access_denied", action, outcome="refused", once=True)
        show_error(err)
        st.stop()
    return user


def require_in_fragment(action: str) -> User:
    """:func:`require` for the code of an ``st.fragment``: a click or timed refresh in one reruns
    the fragment alone, without app.py's ``sign_in`` or the page's own ``require`` (a removed or
    demoted account still cancelled jobs). A session idle too long is ended here too (a timed
    refresh is no activity, so it does not count as one), and a session nobody is signed in to
    any more has the whole app run again, which shows the login form."""
    try:
        user, policy = current_user(), LoginPolicy.from_env()
    except RadSurvError:
        return require(action)  # says what is wrong with the settings
    if user is not None and user is not DEMO_USER and _idle_too_long(policy, visit=False):
        _end_idle_session(user, policy)
        user = None
    if user is None:  # only a fragment's own run gets here: the page stopped before it otherwise
        st.rerun(scope="app")
    return require(action)


def _login_name(user: User) -> str:
    """Who to name in the audit log: the login (local), the e-mail (OIDC) or ``demo``."""
    if user.via == "local":
        return st.session_state.get(USERNAME) or user.name
    if user.via == "oidc":
        return str(st.user.get("email") or user.name)
    return user.name


def actor(action: str) -> str:
    """The name the audit log gives this session's user (also for work done on their behalf
    elsewhere: a background job). With nobody signed in (the account was removed meanwhile) the
    script stops with a refusal: ``action`` is never logged as nobody's."""
    try:
        user = current_user()
    except RadSurvError:
        user = None
    if user is None:
        refused = PermissionDenied(
            "Nobody is signed in to this session any more (the account was removed, or the "
            f"session ended), so {action!r} was not recorded. Log in (in the sidebar) again."
        )
        show_error(refused)
        st.stop()
    return _login_name(user)


def record(
    action: str, target: str = "", outcome: str = "ok", once: bool = False, **details
) -> None:
    """Write ``action`` on ``target`` by this session's user to the audit log; ``once``: only the
    first time in this session (a score shown again on every rerun is one entry)."""
    name = actor(action)
    if once:
        key = (name, action, target, tuple(sorted(details.items())))
        done = st.session_state.setdefault(AUDITED, set())
        if key in done:
            return
        done.add(key)
    audit(name, action, target, outcome, **details)


def export_button(
    label: str,
    data: Any,
    file_name: str,
    mime: str,
    target: str,
    into: Any = st,
    key: str | None = None,
    **details: Any,
) -> None:
    """A download button (in ``into``, its widget ``key``) for a role that may export: a download
    is an export, as the report's PDF is (``export_report``), audited as one when clicked (with
    ``target`` and ``details``); nothing for the others (a viewer downloaded a case's radiomics,
    unaudited)."""
    if permitted("export_report") and into.download_button(
        label, data, file_name=file_name, mime=mime, key=key
    ):
        record("export_report", target, **details)


def _forget() -> None:
    """Log the session out, and with the user goes all it held (but why it ended): the next user
    of the browser was shown the previous one's patient, clinical edits and risk, and their
    views were not audited (the audited set was the previous user's)."""
    ended = st.session_state.get(ENDED)
    st.session_state.clear()
    if ended is not None:
        st.session_state[ENDED] = ended
    st.session_state[AUTH_STATUS] = None
    st.session_state[USERNAME] = None
    st.session_state[CREDENTIAL] = None


def _idle_too_long(policy: LoginPolicy, visit: bool = True) -> bool:
    """Whether this logged-in session's previous page run lies beyond the idle limit; records
    this run as its latest when it is a ``visit`` (a click, not a fragment's timed refresh)."""
    now = time.time()
    last = st.session_state.get(LAST_SEEN)
    if visit:
        st.session_state[LAST_SEEN] = now
    limit = policy.idle_minutes * 60
    return bool(limit) and last is not None and now - last > limit


def _end_idle_session(user: User, policy: LoginPolicy) -> None:
    """Log out a session left idle too long, audited, with a message saying why."""
    audit(_login_name(user), "session_expired", idle_minutes=policy.idle_minutes)
    st.session_state[ENDED] = (
        f"Your session ended after {policy.idle_minutes:g} minutes without activity; log in again."
    )
    st.session_state.pop(LAST_SEEN, None)
    if user.via == "local":
        _forget()
    elif user.via == "oidc":
        st.logout()  # clears the identity now; the browser then reloads at the logout address


def _client_address() -> str | None:
    """The browser's address as the server sees it (None when unknown, e.g. in tests)."""
    try:
        address = st.context.ip_address
    except (AttributeError, RuntimeError):
        return None
    return address if isinstance(address, str) and address else None


def _attempt_login(users: Users, username: str, password: str) -> None:
    """Check a submitted login against the failure record, then the password; log in (and
    rerun) or leave the reason in the session for the form to show. The audit log and the
    failure record name an account only when it exists (a password typed into the Username box
    was logged), and a login it cannot record is refused, never let through unrecorded."""
    attempts = LoginAttempts()
    name, client = username.strip().lower(), _client_address()
    known = name if users.local_role(name) is not None else ""
    account = known or unknown_name(name)  # never the text typed: it may be a password
    refusal = attempts.refusal(account, client)
    if refusal is not None:
        _login_refused(refusal.message(time.time()))
        _logged("anonymous", "login_refused", known, outcome="refused", locked=refusal.locked)
        return
    if users.check_password(username, password):
        if not _logged(name, "login"):  # first: a login the log cannot hold is no login
            return
        attempts.record_success(name, client)
        st.session_state[AUTH_STATUS] = True
        st.session_state[USERNAME] = name
        st.session_state[CREDENTIAL] = users.credential(name)
        st.session_state[LAST_SEEN] = time.time()
        for key in (ENDED, LOGIN_ERROR):
            st.session_state.pop(key, None)
        st.rerun()  # draw the app without the login form
    locked = attempts.record_failure(account, client)  # counted before the log is written
    time.sleep(FAILED_LOGIN_DELAY_S)
    _login_refused("Wrong username or password.")
    if _logged("anonymous", "login_failed", known, outcome="refused"):
        for who in locked:
            target = (known or "unknown account") if who == "account" else str(client)
            _logged("anonymous", "login_locked", target, outcome="refused", kind=who)


def _logged(user: str, action: str, target: str = "", **details: Any) -> bool:
    """Write a login's audit line; when the log cannot be written, refuse the login with a
    message saying so (every login must be recorded) and return False."""
    try:
        audit(user, action, target, **details)
    except OSError as err:
        log.error("audit log not writable: %s", err)
        _login_refused(
            "Logins are refused: the audit log cannot be written, and every login must be "
            "recorded. Tell the administrator (the server log says why)."
        )
        return False
    return True


def _login_refused(message: str) -> None:
    """Leave the session logged out with ``message`` for the login form."""
    st.session_state[AUTH_STATUS] = False
    st.session_state[LOGIN_ERROR] = message


def _local_login(users: Users) -> None:
    """The login form, or the logout button, of local accounts (in the sidebar).

    Our own form rather than streamlit-authenticator's widget: that widget's cookie component
    reruns the script while a submitted login is being checked, and in a browser the login was
    silently lost. The users file keeps the library's layout and bcrypt hashes.
    """
    if st.session_state.get(AUTH_STATUS) is True:
        signed_in = _signed_in(users)
        if signed_in and not st.sidebar.button(
            "Log out", key="radsurv-logout", icon=":material/logout:"
        ):
            return
        if signed_in:
            audit(st.session_state.get(USERNAME) or "", "logout")
        _forget()  # logged out, or the account was removed meanwhile
        if signed_in:
            st.rerun()
    with st.sidebar.form("radsurv-login", clear_on_submit=True):
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        _attempt_login(users, username, password)
    if st.session_state.get(AUTH_STATUS) is False:
        st.sidebar.error(st.session_state.get(LOGIN_ERROR) or "Wrong username or password.")


def _oidc_login(users: Users) -> None:
    """Single sign-on buttons: log in, or log out (also when the e-mail has no role)."""
    if not st.user.get("is_logged_in"):
        if st.sidebar.button("Log in with single sign-on", icon=":material/login:"):
            st.login()
        return
    email = str(st.user.get("email") or "")
    if users.oidc_role(email) is None:
        st.sidebar.warning(
            f"{email or 'This account'} has no RadSurv role yet; an administrator can add one "
            f"with `python -m survival_core users add {email or 'EMAIL'} --oidc --role viewer`."
        )
    if st.sidebar.button("Log out", key="radsurv-sso-logout", icon=":material/logout:"):
        st.logout()


def sign_in(pages: list[tuple[StreamlitPage, str]]) -> tuple[User | None, StreamlitPage]:
    """The user (None: not logged in) and the navigation of the pages their role may open,
    each page given with the action it requires; renders the sidebar's login block.

    The navigation is set up before the login widgets: widgets created before ``st.navigation``
    get other ids on the first run than on later ones, and the browser's first submitted login
    was lost. A login or logout reruns the script, so the navigation follows at once. A server
    reachable from other machines without any login configured shows how to configure one and
    stops: nothing of the app is served.
    """
    try:
        users, oidc = _settings()
        _check_a_login_works(users, oidc)
        policy = LoginPolicy.from_env()
    except RadSurvError as err:
        show_error(err)
        login_navigation()  # else Streamlit would list the pages/ folder by itself
        st.stop()
    user = _user_from(users, oidc)
    if user is not None and user is not DEMO_USER and _idle_too_long(policy):
        _end_idle_session(user, policy)
        user = None
    if user is None:
        navigation = login_navigation()
    else:
        navigation = st.navigation([page for page, action in pages if allowed(user.role, action)])
    if users.local:
        _local_login(users)
    if oidc:
        _oidc_login(users)
    if user is None and st.session_state.get(ENDED):
        st.sidebar.warning(st.session_state[ENDED], icon=":material/schedule:")
    if user is DEMO_USER:
        st.sidebar.caption(f"**{DEMO_LABEL}**")
    elif user is not None:
        # as written: a name (an identity provider's too) set in Markdown read as another role
        st.sidebar.caption(f"Signed in as **{markdown_literal(user.name)}** ({user.role})")
    return user, navigation


def _login_screen() -> None:
    st.title("RadSurv")
    st.info("Log in (in the sidebar) to continue.", icon=":material/lock:")
    st.caption("For research use only; not a medical device.")


def login_navigation() -> StreamlitPage:
    """The navigation before login: one page saying where to log in, nothing else listed."""
    return st.navigation([st.Page(_login_screen, title="Log in", icon=":material/login:")])
