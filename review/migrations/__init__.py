"""Alembic migrations of the review app's own tables (run by :func:`review.database.upgrade_database`)."""
