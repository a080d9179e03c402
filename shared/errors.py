"""The small family of errors the HTTP layer turns into JSON responses in one place."""

from __future__ import annotations

from typing import Any


class PipelineError(Exception):
    """An error with an HTTP status and a client-safe message."""

    status: int = 500
    error: str = "internal error"

    def __init__(self, message: str | None = None, detail: Any = None) -> None:
        super().__init__(message or self.error)
        self.message = message or self.error
        self.detail = detail
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "detail": self.detail}


class BadRequest(PipelineError):
    status = 400
    error = "bad request"


class Unauthorised(PipelineError):
    status = 401
    error = "missing or unknown API key"

    def __init__(self, message: str | None = None, detail: Any = None) -> None:
        super().__init__(message, detail)
        self.headers["WWW-Authenticate"] = 'Bearer realm="logs"'


class Forbidden(PipelineError):
    status = 403
    error = "this key may not do that"


class NotFound(PipelineError):
    status = 404
    error = "not found"


class TooLarge(PipelineError):
    status = 413
    error = "request too large"


class UnsupportedMediaType(PipelineError):
    status = 415
    error = "unsupported content type"


class Unavailable(PipelineError):
    """A dependency refused the work; the client should retry after `retry_after` seconds."""

    status = 503
    error = "temporarily unavailable"

    def __init__(
        self, message: str | None = None, detail: Any = None, retry_after: int = 5
    ) -> None:
        super().__init__(message, detail)
        self.retry_after = retry_after
        self.headers["Retry-After"] = str(retry_after)
