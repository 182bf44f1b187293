"""Alembic environment and versions; the daemon upgrades the schema on start."""
