"""The AI provider in a process of its own, both ends in one place: `parent.py` (the server's
`ProcessProvider`, an `AIProvider` that forwards to the child) and `child.py` (`python -m
interview_rt.aiproc.child`, which imports only `ai_service`, never Django). Importing this package
imports neither."""
