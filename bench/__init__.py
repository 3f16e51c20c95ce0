"""Benchmarks (`make bench`): each scenario measures the portal against a bare Flask +
SQLAlchemy baseline in the same run, on the same PostgreSQL, and reports ratios."""
