"""Accounts of a ward's people for the web application: passwords, invites, sessions, sign-in.

- ``models``: the tables (accounts, invites, web sessions, failed sign-ins);
- ``policy``: the limits, from the environment (session timeouts, lock after failures …);
- ``secrets_``: tokens and password hashes (``secrets`` and Argon2id through ``argon2-cffi``;
  nothing home-made);
- ``service``: what the CLI (``cchc users``) and the web pages call: invite, reset, set a
  password, sign in and out, check a session, disable, list. Every step is an event of the
  tenant's audit trail (``kind='account'``).
"""
