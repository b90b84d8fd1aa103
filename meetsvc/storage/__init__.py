"""Storage: the tables, the engine for SQLite or PostgreSQL, migrations and repositories."""
