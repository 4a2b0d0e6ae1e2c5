"""`pixel gateway`: an OpenAI-compatible HTTP door in front of Triton, through PixelClient.

| module | holds |
| --- | --- |
| `app.py` | `create_app`: the routes (chat completions, models, health, metrics, console) |
| `chat.py` | POST /v1/chat/completions: key, rate limit, body size, fields, then infer / stream |
| `chat_route.py` | that route answered ahead of FastAPI's router (ASGI; CPU per request) |
| `schemas.py` | the request body (pydantic) and the fields Pixel refuses |
| `messages.py` | OpenAI `messages` -> latest user message + earlier turns |
| `replies.py` | chat.completion, chunks, the `pixel` extension field (scores, crisis pointer) |
| `catalog.py` | model ids -> context types |
| `keys.py`, `ratelimit.py` | hashed API keys; per-key token buckets |
| `errors.py` | refusals in OpenAI's error shape; client errors -> HTTP |
| `metrics.py` | `pixel_gateway_*` |
| `settings.py`, `server.py` | `configs/gateway/`; uvicorn (uvloop, httptools, a 1 s idle tick) with the client and recorder |
| `static/` | the browser console served at `/` |
"""
