"""In-process stand-ins for servers the test suite cannot install (see nextcloud.py)."""
