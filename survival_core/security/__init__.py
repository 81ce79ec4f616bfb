"""Access control: roles and their permissions, the users file, when login is required."""
