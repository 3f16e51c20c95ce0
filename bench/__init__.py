"""Benchmarks (`make bench`, `python -m bench`): the portal against a bare Flask + SQLAlchemy
baseline in the same session, on the same PostgreSQL and gunicorn settings, reported as ratios
and CPU milliseconds per request (bench/RESULTS.md says how the comparison is kept fair)."""
