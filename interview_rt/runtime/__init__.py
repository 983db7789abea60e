"""Server runtime: what a running process needs besides the interview rules.

- database lanes (`lanes.py`): where ORM calls from async code run, by priority;
- the publish step (`outbox.py`): what services emitted goes out after commit, in order;
- the background AI worker inside this process (embedded default; the class RUNTIME_WORKER
  names, the lifecycle's `interviews/worker.py`: the runtime imports no app) and the grading model's
  warm-up, started with the process, not on the first request or socket;
- the AI provider, in a child process of its own (`interview_rt/aiproc/`) where the machine has a core to
  spare, so grading never competes with sockets for this process's core;
- graceful shutdown (`Runtime.shutdown`): stop accepting, close candidate sockets with 1012, let
  the worker finish or give back its leases, flush the outbox, stop the AI process, close the
  providers' HTTP clients;
- readiness (`health.py`) and Prometheus metrics (`metrics.py`).
- beside the worker, the apps' periodic tasks named in RUNTIME_TASKS (the delivery app's webhook
  sender, `interview_rt/delivery/sender.py`, which delivers the database's queue);

There is one `Runtime` per process (`runtime`). The ASGI application starts it when the server's
loop starts (`install()`); `manage.py ai_worker` starts it with the worker on; tests start it per
test loop. Consumers, views and the worker call services through `answer_db`, `candidate_db` and
`worker_db` (and staff sockets through `staff_db`), which run the call on its lane and publish
what it emitted.
"""

from .core import (
    Runtime,
    answer_db,
    candidate_db,
    install,
    lifespan_app,
    publish,
    runtime,
    staff_db,
    waiting_db,
    worker_db,
)

__all__ = [
    "Runtime",
    "answer_db",
    "candidate_db",
    "install",
    "lifespan_app",
    "publish",
    "runtime",
    "staff_db",
    "waiting_db",
    "worker_db",
]
