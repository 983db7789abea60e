"""Production: refuses to start with a default secret or DEBUG on; behind a TLS-terminating proxy
(X-Forwarded-Proto), HTTPS only: redirect, HSTS, secure cookies. `manage.py check --deploy` is
clean; each choice and its environment switch is in docs/deploy.md."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import INSECURE_DEFAULT_SECRET, INTERVIEW_LINK_SECRET, SECRET_KEY, env_bool

# DEBUG pages show settings and tracebacks to anyone, and DEBUG keeps every SQL query in memory.
DEBUG = env_bool("DEBUG", False)
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production (unset DEBUG, or use interview_rt.settings.local)")

if SECRET_KEY == INSECURE_DEFAULT_SECRET or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 32 characters in production")
if INTERVIEW_LINK_SECRET in (INSECURE_DEFAULT_SECRET, SECRET_KEY) or len(INTERVIEW_LINK_SECRET) < 32:
    raise ImproperlyConfigured(
        "INTERVIEW_LINK_SECRET must be set, distinct from SECRET_KEY, at least 32 characters, in production"
    )

# The proxy terminates TLS and says so in X-Forwarded-Proto (Procfile: daphne --proxy-headers).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Plain HTTP is redirected (W008), except the health check a load balancer makes on the inside.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# HSTS (W004): browsers keep to HTTPS for a year. Sent on HTTPS responses only, so a host reached
# over plain HTTP in a test is not locked out. Subdomains and preload stay opt-in (they bind every
# subdomain and are hard to undo): SECURE_HSTS_INCLUDE_SUBDOMAINS=1, SECURE_HSTS_PRELOAD=1.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# So `check --deploy` reports what needs a decision, not these two documented opt-ins.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
# Static files: `manage.py collectstatic` (the Procfile's release step) writes compressed copies
# with content hashes in their names; WhiteNoise serves them with far-future cache headers.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
