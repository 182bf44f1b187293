"""Database models and sessions (SQLAlchemy 2, async)."""
