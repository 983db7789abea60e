"""What the parts of the grading benchmark share: paths, the sets' test splits, the zero-shot targets."""

from __future__ import annotations

from . import BENCH, REPO

__all__ = ["BENCH", "PREVIOUS", "REPO", "RESULTS", "TARGETS", "TEST_SPLITS", "TWO_WAY"]

RESULTS = BENCH / "results"
# The previous grader version's calibration, scored live on the same features beside the shipped one
# (its feature list is a prefix of today's, so the same analyses serve both).
PREVIOUS = BENCH / "reference" / "semantic-1_calibration.json"
TWO_WAY = ("sciEntsBank", "beetle")
TEST_SPLITS = {
    "sciEntsBank": ("test-unseen-answers", "test-unseen-questions", "test-unseen-domains"),
    "beetle": ("test-unseen-answers", "test-unseen-questions"),
    "saf": ("unseen_answers", "unseen_questions"),
}
TARGETS = "SAF: Pearson >= baseline + 0.10; SemEval: macro-F1 >= baseline + 0.05; sciEntsBank UQ macro-F1 >= 0.72"
