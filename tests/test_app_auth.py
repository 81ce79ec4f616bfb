"""Access in the app: demo mode only on localhost, the login form before anything else, and
every role refused (page and action) what it may not do.

A logged-in session is set through the seam ui/auth.py documents: ``authentication_status``
True and ``username`` in the session state (what streamlit-authenticator writes after checking
the password); the role always comes from the users file.
"""

from __future__ import annotations

import pytest
from streamlit import config
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest, app_test

from survival_core.security import users
from survival_core.security.roles import MINIMUM_ROLE, ROLES, allowed
from tests.conftest import ROOT
from ui.auth import AUTH_STATUS, CREDENTIAL, DEMO_LABEL, USERNAME

PASSWORD = "a password for tests"
#: Each page and the action it requires at its top (also what app.py lists it under).
PAGES = {
    "pages/case.py": "view",
    "pages/viewer.py": "view",
    "pages/nomogram.py": "view",
    "pages/report.py": "export_report",
    "pages/cohort.py": "explore_cohort",
    "pages/training.py": "train",
    "pages/risk.py": "score_case",
    "pages/users.py": "manage_users",
}


@pytest.fixture(autouse=True)
def navigation_always_runs_app_py(monkeypatch):
    """AppTest re-detects the legacy ``pages/`` folder before every run and then runs a page file
    alone on reruns; a server stops doing so at the first ``st.navigation`` call. Make AppTest
    behave like the running server, so every run goes through app.py's login."""

    class NavigationPages(PagesManager):
        def __init__(self, *args, **kwargs):
            PagesManager.uses_pages_directory = False
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(app_test, "PagesManager", NavigationPages)


@pytest.fixture(scope="module")
def accounts(tmp_path_factory):
    """A users file with one account per role, named after its role."""
    path = tmp_path_factory.mktemp("auth") / "users.yaml"
    for role in ROLES:
        users.add_user(role, role, PASSWORD, name=f"Dr {role.title()}", path=path)
    return path


@pytest.fixture()
def address():
    """Set ``server.address`` for a test; restored afterwards."""
    previous = config.get_option("server.address")
    yield lambda value: config.set_option("server.address", value)
    config.set_option("server.address", previous)


@pytest.fixture()
def with_users(accounts, monkeypatch):
    monkeypatch.setenv("RADSURV_AUTH_FILE", str(accounts))
    return accounts


@pytest.fixture()
def without_users(tmp_path, monkeypatch):
    monkeypatch.setenv("RADSURV_AUTH_FILE", str(tmp_path / "none" / "users.yaml"))


def run(script: str, username: str | None = None) -> AppTest:
    app = AppTest.from_file(str(ROOT / script), default_timeout=60)
    if username is not None:
        signed_in(app, username)
    return app.run()


def signed_in(app: AppTest, username: str) -> None:
    """The session state of ``username`` logged in (with the password it has now)."""
    app.session_state[AUTH_STATUS] = True
    app.session_state[USERNAME] = username
    app.session_state[CREDENTIAL] = users.read_users().credential(username)


def refusals(app: AppTest) -> list[str]:
    return [e.value for e in app.error if "may not" in e.value or "Log in" in e.value]


def listed(app: AppTest) -> set[str]:
    """The pages the navigation offers (switch_page only finds registered ones)."""
    found = set()
    for page in PAGES:
        try:
            app.switch_page(page)
            found.add(page)
        except ValueError:
            pass
    return found


def test_demo_mode_on_localhost_needs_no_login(without_users, address):
    address("localhost")
    app = run("app.py")
    assert not app.exception
    assert any(DEMO_LABEL in c.value for c in app.sidebar.caption)
    assert not app.text_input  # no login form
    assert app.title[0].value == "Case"
    assert listed(app) == set(PAGES)  # the demo user has every role


@pytest.mark.parametrize(
    ("setting", "value", "said"),
    [
        ("RADSURV_RAY_ADDRESS", "127.0.0.1:1", "Cannot reach the Ray cluster at '127.0.0.1:1'"),
        ("RADSURV_CASE_WORKERS", "two", "is 'two', not a whole number of 0 or more"),
    ],
)
def test_a_wrong_case_pool_setting_is_a_message_not_a_traceback(
    without_users, address, monkeypatch, setting, value, said
):
    """A wrong RADSURV_RAY_ADDRESS (the case pool's cluster) was an uncaught InputError, and a
    RADSURV_CASE_WORKERS of no number an int() ValueError, a raw traceback on every page: each is
    an error naming the setting and what to do."""
    from ui.state import case_pool

    address("localhost")
    monkeypatch.setenv(setting, value)
    case_pool.clear()  # the server's pool is made once: made again with this setting
    try:
        app = run("app.py")
    finally:
        case_pool.clear()
    assert not app.exception
    (error,) = [e.value for e in app.error]
    assert error.startswith(f"{setting} in the server's environment")
    assert said in error, error
    assert error.endswith("Correct it or unset it, then restart the server."), error


@pytest.mark.parametrize("where", [None, "10.20.30.40"])
def test_a_reachable_address_without_login_serves_nothing(without_users, address, where):
    address(where)
    app = run("app.py")
    assert not app.exception
    assert len(app.error) == 1 and "users add" in app.error[0].value
    assert "reachable from other machines" in app.error[0].value
    assert not app.title and listed(app) == set()
    # a page reached directly refuses the same way
    page = run("pages/case.py")
    assert "users add" in page.error[0].value and not page.selectbox


def test_with_users_the_login_form_comes_before_any_content(with_users, address):
    address("0.0.0.0")  # with a login configured, a reachable address is fine
    app = run("app.py")
    assert not app.exception
    assert [t.label for t in app.sidebar.text_input] == ["Username", "Password"]
    assert [t.value for t in app.title] == ["RadSurv"] and listed(app) == set()
    for page in PAGES:
        direct = run(page)
        assert refusals(direct) == ["Log in (in the sidebar) to use RadSurv."], page
        assert len(direct.main.children) <= 2, page  # the title and the refusal, nothing else


def test_logging_in_with_the_password_and_out_again(with_users, address):
    address("localhost")
    app = run("app.py")
    app.sidebar.text_input[0].input("clinician")
    app.sidebar.text_input[1].input("not the password")
    app.sidebar.button[0].click().run()
    assert any("Wrong username or password" in e.value for e in app.sidebar.error)
    assert listed(app) == set()
    app.sidebar.text_input[0].input("clinician")
    app.sidebar.text_input[1].input(PASSWORD)
    app.sidebar.button[0].click().run()
    assert not app.exception
    assert any("Dr Clinician** (clinician)" in c.value for c in app.sidebar.caption)
    assert app.title[0].value == "Case"
    # the patient on screen and its edits go with the user: the next one at this browser saw
    # them, and their own views were not audited
    from ui.auth import AUDITED
    from ui.state import CLINICAL_EDITS, CURRENT_CASE

    app.session_state[CURRENT_CASE], app.session_state[CLINICAL_EDITS] = "PT001", {"ecog": 3}
    app.session_state[AUDITED] = {("clinician", "score_case", "PT001", ())}
    app.sidebar.button(key="radsurv-logout").click().run()
    assert app.session_state[AUTH_STATUS] is None and listed(app) == set()
    for key in (CURRENT_CASE, CLINICAL_EDITS, AUDITED):
        assert key not in app.session_state


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_only_its_pages_and_is_refused_the_others(with_users, address, role):
    address("localhost")
    app = run("app.py", role)
    assert not app.exception
    mine = {p for p, action in PAGES.items() if allowed(role, action)}
    assert listed(app) == mine
    for page in sorted(mine):
        app.switch_page(page).run()
        assert not app.exception and not refusals(app), (role, page)
    for page in sorted(set(PAGES) - mine):
        direct = run(page, role)  # reached without the navigation (by its URL)
        action = PAGES[page]
        (refusal,) = refusals(direct)
        assert f"The {role} role may not" in refusal and repr(action) in refusal
        assert f"needs the {MINIMUM_ROLE[action]} role" in refusal
        assert len(direct.main.children) <= 2, page  # the title and the refusal, nothing else


@pytest.mark.parametrize(("role", "refused"), [("viewer", True), ("clinician", False)])
def test_upload_needs_the_clinician_role(with_users, address, role, refused):
    address("localhost")
    app = run("pages/case.py", role)
    app.segmented_control[0].set_value("Upload").run()
    assert not app.exception
    assert bool(refusals(app)) is refused
    if refused:
        assert "may not upload a case" in refusals(app)[0]


def test_a_physicist_can_start_a_run_a_clinician_cannot_reach_it(with_users, address):
    address("localhost")
    physicist = run("pages/training.py", "physicist")
    assert not refusals(physicist)
    assert any(b.label == "Start run" for b in physicist.button)
    clinician = run("pages/training.py", "clinician")
    assert "may not start or cancel training runs" in refusals(clinician)[0]
    assert not any(b.label == "Start run" for b in clinician.button)


def test_a_role_change_or_removal_applies_at_the_next_click(accounts, tmp_path, monkeypatch):
    path = tmp_path / "users.yaml"
    path.write_bytes(accounts.read_bytes())
    monkeypatch.setenv("RADSURV_AUTH_FILE", str(path))
    app = run("app.py", "viewer")
    assert "pages/training.py" not in listed(app)
    users.set_role("viewer", "physicist")
    app.run()
    assert "pages/training.py" in listed(app)
    users.remove_user("viewer")
    app.run()
    assert listed(app) == set() and app.sidebar.text_input  # back to the login form


def test_an_oidc_identity_gets_the_role_mapped_to_its_email(
    with_users, address, tmp_path, monkeypatch
):
    path = tmp_path / "users.yaml"
    path.write_bytes(with_users.read_bytes())
    monkeypatch.setenv("RADSURV_AUTH_FILE", str(path))
    users.add_user("Kim@Hospital.org", "clinician")
    address("0.0.0.0")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.secrets["auth"] = {"redirect_uri": "https://radsurv.hospital.org/oauth2callback"}
    app.user = {"is_logged_in": True, "email": "kim@hospital.org", "name": "Dr Kim"}
    app.run()
    assert not app.exception
    assert any("Dr Kim** (clinician)" in c.value for c in app.sidebar.caption)
    assert listed(app) == {p for p, action in PAGES.items() if allowed("clinician", action)}
    app.user = {"is_logged_in": True, "email": "stranger@elsewhere.org"}
    app.run()
    assert listed(app) == set()
    assert any("has no RadSurv role" in w.value for w in app.sidebar.warning)


@pytest.mark.parametrize(("role", "scored"), [("viewer", False), ("clinician", True)])
def test_the_case_pages_risk_tab_scores_only_for_clinicians(with_users, address, role, scored):
    from tests.case_builders import make_case
    from ui.state import CURRENT_CASE

    address("localhost")
    app = AppTest.from_file(str(ROOT / "pages/case.py"), default_timeout=60)
    signed_in(app, role)
    app.session_state[CURRENT_CASE] = make_case(size=(24, 20, 8))
    app.run()
    assert not app.exception and not refusals(app)
    assert app.subheader[0].value.startswith("TEST-1")  # a viewer still sees the case
    needs_role = any("needs the clinician role" in i.value for i in app.info)
    assert needs_role is not scored


def test_an_admin_adds_a_user_on_the_users_page(with_users, address, tmp_path, monkeypatch):
    import bcrypt

    path = tmp_path / "users.yaml"
    path.write_bytes(with_users.read_bytes())
    monkeypatch.setenv("RADSURV_AUTH_FILE", str(path))
    address("localhost")
    app = run("pages/users.py", "admin")
    assert not app.exception and not refusals(app)
    app.text_input[0].input("newdoc")
    app.text_input[2].input("a fresh password")
    app.selectbox[0].select("clinician")
    app.button[0].click().run()
    assert not app.exception
    stored = users.read_users(path).local["newdoc"]
    assert stored["roles"] == ["clinician"]
    assert bcrypt.checkpw(b"a fresh password", stored["password"].encode())
    assert "a fresh password" not in path.read_text()
    from survival_core.audit import read_audit

    added = [e for e in read_audit() if e["action"] == "user_add"]
    assert [(e["user"], e["target"], e["role"]) for e in added] == [
        ("admin", "newdoc", "clinician")
    ]


@pytest.fixture()
def own_users(with_users, tmp_path, monkeypatch):
    """A private copy of the accounts (its own failed-login record beside it)."""
    path = tmp_path / "users.yaml"
    path.write_bytes(with_users.read_bytes())
    monkeypatch.setenv("RADSURV_AUTH_FILE", str(path))
    return path


def _log_in(app: AppTest, username: str, password: str) -> AppTest:
    app.sidebar.text_input[0].input(username)
    app.sidebar.text_input[1].input(password)
    return app.sidebar.button[0].click().run()


def test_a_locked_account_is_refused_even_its_right_password_until_unlocked(
    own_users, address, monkeypatch
):
    from survival_core.audit import read_audit
    from survival_core.security.logins import LoginAttempts

    monkeypatch.setenv("RADSURV_LOGIN_MAX_FAILURES", "3")
    address("localhost")
    since = len(read_audit())  # the audit log is the session's: look at this test's lines only
    for _ in range(3):
        LoginAttempts().record_failure("clinician", "10.1.2.3")
    app = _log_in(run("app.py"), "clinician", PASSWORD)
    assert not app.exception and listed(app) == set()  # not logged in
    assert any("this account is locked until" in e.value for e in app.sidebar.error)
    refused = [e for e in read_audit()[since:] if e["action"] == "login_refused"]
    assert [e["outcome"] for e in refused] == ["refused"]
    admin = run("pages/users.py", "admin")  # the admin sees the lock and lifts it
    assert admin.dataframe[1].value["name"].tolist() == ["clinician"]
    admin.button(key="users-unlock").click().run()
    assert not admin.exception and "Unlocked clinician." in admin.success[0].value
    app = _log_in(run("app.py"), "clinician", PASSWORD)
    assert not app.exception and app.title[0].value == "Case"


def test_wrong_passwords_lock_an_account_and_audit_it(own_users, address, monkeypatch):
    import time

    from survival_core.audit import read_audit
    from ui import auth

    monkeypatch.setenv("RADSURV_LOGIN_MAX_FAILURES", "2")
    monkeypatch.setattr(auth, "FAILED_LOGIN_DELAY_S", 0.0)
    address("localhost")
    since = len(read_audit())
    app = run("app.py")
    _log_in(app, "physicist", "not the password")
    assert any("Wrong username or password" in e.value for e in app.sidebar.error)
    _log_in(app, "physicist", "not the password either")
    assert any("wait 1 s" in e.value for e in app.sidebar.error)  # the backoff refuses unchecked
    locked = [e for e in read_audit()[since:] if e["action"] == "login_locked"]
    assert locked == []  # the refused attempt did not count
    time.sleep(1.05)  # the backoff's 1 s is over
    _log_in(app, "physicist", "not the password either")
    locked = [e for e in read_audit()[since:] if e["action"] == "login_locked"]
    assert [(e["target"], e["kind"]) for e in locked] == [("physicist", "account")]
    _log_in(app, "physicist", PASSWORD)
    assert listed(app) == set() and any("locked until" in e.value for e in app.sidebar.error)


def test_what_is_typed_as_a_username_is_logged_only_when_it_is_an_account(
    own_users, address, monkeypatch
):
    """A password typed into the Username box was written to the audit log in the clear (and
    kept in the failure record, listed as a lock on the Users page), and a name with '^' broke
    the form when its lock was to be logged."""
    from survival_core.audit import read_audit
    from survival_core.security.logins import LoginAttempts
    from ui import auth

    monkeypatch.setenv("RADSURV_LOGIN_MAX_FAILURES", "1")
    monkeypatch.setattr(auth, "FAILED_LOGIN_DELAY_S", 0.0)
    address("localhost")
    since = len(read_audit())
    for typed in ("Tr0ub4dor&3 horse staple", "Smith^John", "physicist"):
        app = _log_in(run("app.py"), typed, "not the password")
        assert not app.exception and any("Wrong username" in e.value for e in app.sidebar.error)
    logged = read_audit()[since:]
    assert "tr0ub4dor" not in str(logged).lower() and "smith" not in str(logged).lower()
    assert [e["target"] for e in logged if e["action"] == "login_locked"] == [
        "unknown account",
        "unknown account",
        "physicist",
    ]
    attempts = LoginAttempts()
    record = attempts.path.read_text().lower()
    assert "tr0ub4dor" not in record and "smith" not in record
    names = sorted(lock["name"] for lock in attempts.locks())
    assert names[0] == "physicist" and all(n.startswith("unknown name ") for n in names[1:])
    assert len(set(names)) == 3  # each text its own lock, still refused when typed again
    app = _log_in(run("app.py"), "Tr0ub4dor&3 horse staple", "not the password")
    assert any("locked until" in e.value for e in app.sidebar.error)
    assert attempts.unlock(names[1]) and len(attempts.locks()) == 2  # an admin can lift it


def test_a_login_the_audit_log_cannot_hold_is_refused_and_counted(own_users, address, monkeypatch):
    """With the audit log unwritable, failed logins were never counted (no lockout) and the
    right password still signed in, unrecorded."""
    import time

    from survival_core.audit import audit_path
    from survival_core.security.logins import LoginAttempts
    from ui import auth

    monkeypatch.setattr(auth, "FAILED_LOGIN_DELAY_S", 0.0)
    address("localhost")
    path = audit_path()
    path.unlink(missing_ok=True)
    path.mkdir()  # a folder where the log should be: every write fails
    try:
        app = _log_in(run("app.py"), "physicist", "not the password")
        assert not app.exception
        assert any("audit log cannot be written" in e.value for e in app.sidebar.error)
        assert LoginAttempts().refusal("physicist", None) is not None  # counted: a backoff
        time.sleep(1.05)  # the backoff's 1 s is over
        app = _log_in(run("app.py"), "physicist", PASSWORD)
        assert not app.exception and listed(app) == set()  # not signed in, unrecorded
        assert any("audit log cannot be written" in e.value for e in app.sidebar.error)
    finally:
        path.rmdir()


def test_a_password_reset_ends_the_sessions_opened_with_the_old_one(own_users, address):
    """Removing a leaked account and adding it again with a new password left the intruder's
    session signed in ('Signed in as bob') at its next click."""
    address("localhost")
    app = _log_in(run("app.py"), "physicist", PASSWORD)
    assert app.title[0].value == "Case"
    users.remove_user("physicist")
    users.add_user("physicist", "physicist", "another long passphrase")
    app.run()
    assert not app.exception and listed(app) == set()
    assert any(b.label == "Log in" for b in app.sidebar.button)


def test_an_idle_session_is_logged_out_at_its_next_click(own_users, address, monkeypatch):
    import time

    from survival_core.audit import read_audit
    from ui.auth import LAST_SEEN

    monkeypatch.setenv("RADSURV_SESSION_IDLE_MINUTES", "30")
    address("localhost")
    since = len(read_audit())
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    signed_in(app, "viewer")
    app.session_state[LAST_SEEN] = time.time() - 29 * 60  # within the limit: still signed in
    app.run()
    assert app.title[0].value == "Case" and app.session_state[LAST_SEEN] > time.time() - 60
    app.session_state[LAST_SEEN] = time.time() - 31 * 60
    app.session_state["current_case"] = "PT001"
    app.run()
    assert not app.exception and listed(app) == set() and app.session_state[AUTH_STATUS] is None
    assert "current_case" not in app.session_state
    assert any("ended after 30 minutes without activity" in w.value for w in app.sidebar.warning)
    expired = [e for e in read_audit()[since:] if e["action"] == "session_expired"]
    assert [e["user"] for e in expired] == ["viewer"]


def test_two_admins_editing_at_once_one_edit_is_refused_not_lost(own_users, address):
    address("localhost")
    first, second = run("pages/users.py", "admin"), run("pages/users.py", "admin")
    first.selectbox(key="users-who").select("viewer")
    first.selectbox(key="users-role").select("physicist")
    first.button[1].click().run()  # Set role
    assert not first.exception and users.read_users(own_users).local_role("viewer") == "physicist"
    second.selectbox(key="users-who").select("viewer")
    second.button[2].click().run()  # Remove, on the page as it was before the first edit
    assert any("changed by someone else" in e.value for e in second.error)
    assert users.read_users(own_users).local_role("viewer") == "physicist"  # nothing lost
    second.button[2].click().run()  # now on the current accounts: it goes through
    assert users.read_users(own_users).local_role("viewer") is None


@pytest.fixture()
def sleeping_job(tmp_path):
    """A training job that sleeps (listed with a Cancel button on the Training page's Jobs)."""
    import sys

    from survival_core.runs.jobs import cancel, start_job
    from tests.test_jobs import clinical_cohort, tiny_config

    script = "import time; time.sleep(120)"
    cohort = clinical_cohort(tmp_path / "cohort")  # read by the start's checks
    job = start_job(tiny_config(cohort, name="sleeper"), command=[sys.executable, "-c", script])
    yield job
    cancel(job, grace=1.0)


def run_fragments(app: AppTest, monkeypatch) -> AppTest:
    """Run ``app`` as a click in one of its fragments does in a browser: the fragments alone,
    not the script around them (AppTest otherwise always runs the whole script)."""
    import functools

    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
    from streamlit.testing.v1 import local_script_runner

    fragments = list(app._fragment_storage._fragments)
    assert fragments, "the page drew no fragment"
    with monkeypatch.context() as patch:
        patch.setattr(
            local_script_runner,
            "RerunData",
            functools.partial(RerunData, fragment_id_queue=fragments),
        )
        return app.run()


def _training_page_as_physicist(address, monkeypatch) -> AppTest:
    """The Training page (its jobs panel) open to a physicist, sessions idle after 30 minutes."""
    monkeypatch.setenv("RADSURV_SESSION_IDLE_MINUTES", "30")
    address("localhost")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    signed_in(app, "physicist")
    app.run()
    app.switch_page("pages/training.py").run()
    return app


@pytest.mark.parametrize("change", ["demoted", "removed", "idle"])
def test_a_click_in_the_jobs_panel_checks_the_account_again(
    own_users, address, monkeypatch, sleeping_job, change
):
    """The jobs panel is a fragment: its Cancel reruns it alone, without app.py's sign-in or the
    page's require. A physicist demoted to viewer or removed still cancelled a job (audited as
    'anonymous' once removed), and a session idle too long was not ended."""
    import time

    from survival_core.audit import read_audit
    from ui.auth import LAST_SEEN

    app = _training_page_as_physicist(address, monkeypatch)
    cancel = app.button(key=f"cancel-{sleeping_job.job_id}")
    since = len(read_audit())
    if change == "demoted":
        users.set_role("physicist", "viewer")
    elif change == "removed":
        users.remove_user("physicist")
    else:
        app.session_state[LAST_SEEN] = time.time() - 31 * 60
    cancel.click()
    run_fragments(app, monkeypatch)
    assert not app.exception and sleeping_job.alive()
    logged = [(e["user"], e["action"], e["target"]) for e in read_audit()[since:]]
    if change == "demoted":
        assert "The viewer role may not start or cancel training runs" in refusals(app)[0]
        assert logged == [("physicist", "access_denied", "train")]
    elif change == "removed":  # the whole app ran again: the login form, nothing logged
        assert listed(app) == set() and app.sidebar.text_input and logged == []
    else:
        assert listed(app) == set() and app.session_state[AUTH_STATUS] is None
        assert any("ended after 30 minutes" in w.value for w in app.sidebar.warning)
        assert logged == [("physicist", "session_expired", "")]


@pytest.mark.parametrize(("idle", "signed_out"), [(29, False), (31, True)])
def test_the_jobs_panels_timed_refresh_is_no_activity_but_ends_an_idle_session(
    own_users, address, monkeypatch, sleeping_job, idle, signed_out
):
    """The jobs panel refreshes itself every few seconds: counted as activity, a session left
    open on the Training page would never go idle. Its refresh leaves the last activity as it
    was, and ends a session idle past the limit."""
    import time

    from ui.auth import LAST_SEEN

    app = _training_page_as_physicist(address, monkeypatch)
    last = app.session_state[LAST_SEEN] = time.time() - idle * 60
    run_fragments(app, monkeypatch)  # a timed refresh: no click
    assert not app.exception
    ended = [w.value for w in app.sidebar.warning if "ended after 30 minutes" in w.value]
    if signed_out:
        assert app.session_state[AUTH_STATUS] is None and ended and listed(app) == set()
    else:
        assert app.session_state[LAST_SEEN] == last and app.session_state[AUTH_STATUS] is True
        assert not ended and app.button(key=f"cancel-{sleeping_job.job_id}")


def _record_a_cancel() -> None:
    from ui.auth import record

    record("train_cancel", "0123abcd")


def test_an_action_with_nobody_signed_in_is_refused_not_logged_as_anonymous(own_users, address):
    """An action recorded after the account was removed was written as user 'anonymous'."""
    from survival_core.audit import read_audit

    address("localhost")
    app = AppTest.from_function(_record_a_cancel, default_timeout=60)
    signed_in(app, "physicist")
    users.remove_user("physicist")
    since = len(read_audit())
    app.run()
    assert not app.exception and read_audit()[since:] == []
    (refusal,) = refusals(app)
    assert "'train_cancel' was not recorded. Log in (in the sidebar) again." in refusal


def test_a_model_a_job_makes_active_is_audited_as_promoted_by_who_started_it(
    own_users, address, tmp_path
):
    """'Make its model the app's active model' on the Training page: the job's run logged the
    promotion as the server's operating-system account ('root'), not the physicist."""
    import yaml

    from survival_core.audit import read_audit
    from survival_core.runs.jobs import list_jobs
    from tests.test_app_training import start_button, with_yaml
    from tests.test_jobs import clinical_cohort, tiny_config, wait_for

    config = tiny_config(clinical_cohort(tmp_path / "cohort"), name="promoted")
    address("localhost")
    since = len(read_audit())
    app = with_yaml(run("pages/training.py", "physicist"), yaml.safe_dump(config))
    next(c for c in app.checkbox if c.label.startswith("Make its model")).check().run()
    start_button(app).click().run()
    assert not app.exception
    (job,) = [job for job in list_jobs("train") if job.config_name == "promoted"]
    wait_for(lambda: not job.alive(), 120, "the job to end")
    assert job.status == "finished", job.log()
    logged = [(e["user"], e["action"], e["target"]) for e in read_audit()[since:]]
    assert logged == [
        ("physicist", "train_start", job.job_id),
        ("physicist", "promote_model", "promoted"),
    ]


def test_an_admin_removing_their_own_account_is_audited_as_themselves(own_users, address):
    """The Users page audited the removal after it, when the account was gone: as 'anonymous'."""
    from survival_core.audit import read_audit

    users.add_user("admin2", "admin", PASSWORD)
    address("localhost")
    since = len(read_audit())
    app = run("app.py", "admin2")
    app.switch_page("pages/users.py").run()
    app.selectbox(key="users-who").select("admin2").run()
    app.button[2].click().run()  # Remove
    assert not app.exception and users.read_users(own_users).local_role("admin2") is None
    logged = [(e["user"], e["action"], e["target"]) for e in read_audit()[since:]]
    assert logged == [("admin2", "user_remove", "admin2")]
    assert listed(app) == set() and app.sidebar.text_input  # signed out: the login form


def test_an_email_the_audit_log_cannot_name_is_refused_on_the_users_page(own_users, address):
    """'o^brien@hospital.org' was added, then the page showed the audit's exception and no
    user_add line was written."""
    from survival_core.audit import read_audit

    address("localhost")
    before, since = own_users.read_bytes(), len(read_audit())
    app = run("pages/users.py", "admin")
    app.toggle(key="users-oidc").set_value(True).run()
    app.text_input[0].input("o^brien@hospital.org")
    next(b for b in app.button if b.label == "Add user").click().run()
    assert not app.exception
    (error,) = [e.value for e in app.error]
    assert "cannot be added, re-roled or removed here: every account edit is audited" in error
    assert own_users.read_bytes() == before and read_audit()[since:] == []


def test_a_failed_login_record_of_another_shape_still_lets_users_log_in(own_users, address):
    """A login-attempts.json holding '[]' (valid JSON) made every login an AttributeError."""
    from survival_core.security.logins import ATTEMPTS_FILE

    own_users.with_name(ATTEMPTS_FILE).write_text("[]")
    address("localhost")
    app = _log_in(run("app.py"), "physicist", PASSWORD)
    assert not app.exception and app.title[0].value == "Case"


def test_with_only_oidc_identities_and_no_single_sign_on_the_page_says_how_to_add_one(
    tmp_path, monkeypatch, address
):
    """The page said "Log in (in the sidebar) to continue." and the sidebar had no login."""
    monkeypatch.setenv("RADSURV_AUTH_FILE", str(tmp_path / "users.yaml"))
    users.add_user("boss@example.org", "admin")
    address("localhost")
    app = run("app.py")
    assert not app.exception and not app.info and listed(app) == set()
    (error,) = [e.value for e in app.error]
    assert error.startswith("Nobody can log in: the users file")
    assert "`python -m survival_core users add NAME --role admin`" in error


@pytest.mark.parametrize(("role", "offered"), [("viewer", False), ("clinician", True)])
def test_a_cases_radiomics_download_is_an_audited_export(with_users, address, role, offered):
    """A viewer downloaded a case's radiomics table as CSV (the Nomogram withholds downloads from
    viewers: they are exports), and no download was audited."""
    from survival_core.audit import read_audit
    from tests.case_builders import make_case
    from ui.state import CURRENT_CASE

    address("localhost")
    app = AppTest.from_file(str(ROOT / "pages/case.py"), default_timeout=60)
    signed_in(app, role)
    app.session_state[CURRENT_CASE] = make_case(size=(24, 20, 8))
    app.run()
    app.selectbox(key="radiomics-preset").set_value("wei2021")
    app.button(key="radiomics-run").click().run()
    assert not app.exception
    table = next(d.value for d in app.dataframe if "feature" in d.value.columns)
    assert len(table) == 56  # shown to every role
    assert [d.label for d in app.download_button] == (["Download CSV"] if offered else [])
    if offered:
        since = len(read_audit())
        app.download_button[0].click().run()
        logged = [(e["user"], e["action"], e["target"], e["what"]) for e in read_audit()[since:]]
        assert logged == [(role, "export_report", "TEST-1", "radiomics")]


def test_a_display_name_is_shown_as_written_not_as_markdown(own_users, address):
    """A display name 'Dr Smith** (admin)<br>**' read, in the sidebar, as Dr Smith (admin)."""
    users.add_user("temp1", "viewer", PASSWORD, name="Dr Smith** (admin)<br>**")
    address("localhost")
    app = run("app.py", "temp1")
    (shown,) = [c.value for c in app.sidebar.caption if c.value.startswith("Signed in as")]
    assert shown == r"Signed in as **Dr Smith\*\* (admin)\<br\>\*\*** (viewer)"
