"""Developer tools that are not part of the product: test doubles and helpers run as their own
processes. The product (`interview_rt`, `consumers`, `ai_service`) never imports this package
(an import-linter contract in pyproject.toml checks it)."""
