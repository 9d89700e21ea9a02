"""The store: the schema, its Alembic migrations, and one repository per table group.

No business rules here: the repositories offer the atomic statements (inserts that claim,
conditional updates, upserts) the layers above build their guarantees on.
"""
