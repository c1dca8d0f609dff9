"""The PostgreSQL fixtures (pg_server, pg_url, private_server) are in tests/conftest.py: the
engine tests that run on both stores use them too."""
