"""Users page (admin): who may log in and with which role; add, re-role and remove accounts;
unlock accounts locked by failed logins.

The same operations as ``python -m survival_core users``; passwords go straight to bcrypt and the
form is cleared on submit, so no password stays in the session. Each edit is checked against the
users file as this page last showed it: when another admin changed it meanwhile, the edit is
refused with a message and the page shows the current accounts.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from survival_core.audit import audit
from survival_core.errors import RadSurvError
from survival_core.security import users
from survival_core.security.logins import LoginAttempts
from survival_core.security.roles import ROLES
from ui.auth import actor, require
from ui.retention import storage_section
from ui.state import show_error

#: The users file's version this page showed last (what an edit is checked against).
SHOWN = "users-shown-version"
#: What the last edit did, shown once after the page reran to list it.
DONE = "users-done"

st.title("Users")
require("manage_users")  # each click reruns the page from here: its buttons need no other check
# who the edits are audited as, read before any: an admin removing their own account is nobody
# after it (the removal was logged as 'anonymous')
admin = actor("manage_users")
try:
    current = users.read_users()
except RadSurvError as error:
    show_error(error)
    st.stop()
shown = st.session_state.get(SHOWN, current.version)
st.session_state[SHOWN] = current.version
if done := st.session_state.pop(DONE, None):
    st.success(done)
st.caption(f"Users file: `{current.path}` (outside the repository, mode 0600).")
st.dataframe(pd.DataFrame(current.entries(), columns=["username", "name", "role", "kind"]))

st.subheader("Add")
oidc = st.toggle("Single sign-on identity (e-mail, no password)", key="users-oidc")
with st.form("users-add", clear_on_submit=True):
    username = st.text_input("E-mail" if oidc else "Username")
    name = st.text_input("Display name", disabled=oidc)
    password = st.text_input("Password (10-72 bytes)", type="password", disabled=oidc)
    role = st.selectbox("Role", ROLES)
    if st.form_submit_button("Add user", type="primary"):
        try:
            added = users.add_user(
                username, role, None if oidc else password, name or None, expected=shown
            )
            audit(admin, "user_add", added, role=role)
        except RadSurvError as error:
            show_error(error)
        else:
            st.session_state[DONE] = f"Added {added} ({role})."
            st.rerun()

names = [e["username"] for e in current.entries()]
if names:
    st.subheader("Change or remove")
    who = st.selectbox("Account", names, key="users-who")
    left, right = st.columns(2)
    new_role = left.selectbox("New role", ROLES, key="users-role")
    try:
        if left.button("Set role"):
            users.set_role(who, new_role, expected=shown)
            audit(admin, "role_change", who, role=new_role)
            st.rerun()
        if right.button("Remove", type="secondary"):
            users.remove_user(who, expected=shown)
            audit(admin, "user_remove", who)
            st.rerun()
    except RadSurvError as error:
        show_error(error)

st.subheader("Locked after failed logins")
try:
    attempts = LoginAttempts()
    locks = attempts.locks()
except RadSurvError as error:
    show_error(error)
    locks = []
if not locks:
    st.caption("No account or computer is locked.")
else:
    st.dataframe(pd.DataFrame(locks, columns=["name", "kind", "failures", "until"]))
    locked = st.selectbox("Unlock", [lock["name"] for lock in locks], key="users-locked")
    if st.button("Unlock", key="users-unlock"):
        attempts.unlock(locked)
        audit(admin, "unlock_login", locked)
        st.session_state[DONE] = f"Unlocked {locked}."
        st.rerun()

storage_section()  # disk use per area, the retention period and the cleanup, last on the page
