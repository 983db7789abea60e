import os

# Before numpy loads (web and AI processes alike): OpenBLAS' pool threads spin after each call,
# which on our small matrices cost more CPU than the work itself (see ai_service/__init__.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
