"""The schemathesis server's settings: the local ones with Django's fast test hasher.

Generated cases send Basic credentials, and every one is a password check: PBKDF2 (slow on
purpose; in production the checks are rate-limited per address) took 93 % of the server's CPU in
a run (py-spy), about 60 ms a case. The document and the input handling are under test here, not
the hash, so the hash is MD5, as in the in-process tests (settings/test.py)."""

from interview_rt.settings.local import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
