"""Users page (admin): who may log in and with which role; add, re-role and remove accounts.

The same operations as ``python -m survival_core users``; passwords go straight to bcrypt and the
form is cleared on submit, so no password stays in the session.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from survival_core.errors import RadSurvError
from survival_core.security import users
from survival_core.security.roles import ROLES
from ui.auth import require
from ui.state import show_error

st.title("Users")
require("manage_users")  # each click reruns the page from here: its buttons need no other check
try:
    current = users.read_users()
except RadSurvError as error:
    show_error(error)
    st.stop()
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
            added = users.add_user(username, role, None if oidc else password, name or None)
            st.success(f"Added {added} ({role}).")
        except RadSurvError as error:
            show_error(error)

names = [e["username"] for e in current.entries()]
if names:
    st.subheader("Change or remove")
    who = st.selectbox("Account", names, key="users-who")
    left, right = st.columns(2)
    new_role = left.selectbox("New role", ROLES, key="users-role")
    try:
        if left.button("Set role"):
            users.set_role(who, new_role)
            st.rerun()
        if right.button("Remove", type="secondary"):
            users.remove_user(who)
            st.rerun()
    except RadSurvError as error:
        show_error(error)
