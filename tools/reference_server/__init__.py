"""A small reference model server: the documented model API and an OpenAI-compatible endpoint.

    python -m tools.reference_server --port 8001 [--host 127.0.0.1] [--fault KIND]
        [--latency-ms N] [--fault-count N] [--api-key KEY] [--no-json-schema] [--access-log]

A test double, not part of the product. It answers from the embedded provider (offline question
bank and grader), so it needs no model and no network, and it can misbehave on purpose
(`--fault`) to exercise the clients' timeouts, retries, circuit breaker and fallback. It is a
Starlette application served by daphne, which does the HTTP/1.1 (keep-alive, chunked bodies,
hundreds of connections); requests and answers are the models of `ai_service.schemas`.

Routes (docs/ai-model-api.md has the schemas):

    POST /generate-questions, /evaluate-response     the documented model API
    POST /v1/chat/completions, /chat/completions     OpenAI-compatible, for prompts from ai_service.prompts
    GET  /v1/models, /models                         the one served model
    GET  /healthz                                    200 even while faults are injected; no auth
    GET  /_stats                                     request counters and max in-flight requests
    POST /_control                                   change fault/latency/fault_count/json_schema at run time

Faults (`--fault`, applied to the API routes): latency, 5xx, 429 (Retry-After: 1), garbage (body
is not JSON), wrong-schema, hang (never answers), out-of-range (score 42), empty.

Modules: `app` (the Starlette routes, auth and error envelope), `faults` (the switches and what
each fault answers), `grading` (the wire models to and from the embedded provider), `stats`
(counters and open connections), `responses` (JSON answers and the bounded body), `cli` (the
flags and daphne).
"""

from .grading import PromptPayload, evaluation_request

__all__ = ["PromptPayload", "evaluation_request"]
