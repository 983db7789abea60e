"""Production: refuses to start with a default secret; secure cookies and HSTS behind TLS."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import INSECURE_DEFAULT_SECRET, INTERVIEW_LINK_SECRET, SECRET_KEY, env_bool

DEBUG = env_bool("DEBUG", False)

if SECRET_KEY == INSECURE_DEFAULT_SECRET or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 32 characters in production")
if INTERVIEW_LINK_SECRET in (INSECURE_DEFAULT_SECRET, SECRET_KEY) or len(INTERVIEW_LINK_SECRET) < 32:
    raise ImproperlyConfigured(
        "INTERVIEW_LINK_SECRET must be set, distinct from SECRET_KEY, at least 32 characters, in production"
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
SECURE_HSTS_SECONDS = int(__import__("os").environ.get("SECURE_HSTS_SECONDS", "0"))

# Static files: `manage.py collectstatic` (the Procfile's release step) writes compressed copies
# with content hashes in their names; WhiteNoise serves them with far-future cache headers.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
