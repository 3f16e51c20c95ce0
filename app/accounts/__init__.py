"""Accounts: users, scoped roles, API tokens; registration, sign-in and the profile."""
