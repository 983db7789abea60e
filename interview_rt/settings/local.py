"""The embedded default: SQLite, in-memory channel layer, offline AI, debug on."""

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("DEBUG", True)
