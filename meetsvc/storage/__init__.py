"""Storage: the engine for SQLite or PostgreSQL, the tables, migrations, and all SQL (in queries/)."""
