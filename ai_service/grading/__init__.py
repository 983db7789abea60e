"""Answer graders used by the embedded provider. Pure Python/numpy; never imports the project."""

from .types import GradeInput, GradeOutput

__all__ = ["GradeInput", "GradeOutput"]
