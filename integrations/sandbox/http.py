"""The small HTTP layer both sandboxes share: routing, request parsing, the call log and faults.

Plain standard library (ThreadingHTTPServer) so that a sandbox has no opinion about Host headers,
ALLOWED_HOSTS or settings: it answers whatever a real client sends, like the vendor does.
"""

from __future__ import annotations

import contextlib
import html
import json
from abc import ABC, abstractmethod
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit


class CIDict(dict):
    """Header dict with case-insensitive lookups (keys stored lower-case)."""

    def __init__(self, items=()):
        super().__init__((k.lower(), v) for k, v in items)

    def get(self, key, default=None):  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def __contains__(self, key):
        return super().__contains__(str(key).lower())


@dataclass
class Request:
    method: str
    raw_path: str                        # path as sent, still percent-encoded
    path: str                            # decoded path
    query: dict[str, list[str]]
    headers: CIDict
    body: bytes
    params: dict[str, str] = field(default_factory=dict)   # from the route pattern

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}

    def data(self) -> dict[str, Any]:
        """The body as a dict, parsed by its Content-Type (JSON or form); raises ValueError if unreadable."""
        ctype = (self.headers.get("content-type") or "").split(";")[0].strip().lower()
        if ctype == "application/json":
            parsed = self.json()
            if parsed is None:
                return {}
            if not isinstance(parsed, dict):
                raise ValueError("body must be a JSON object")
            return parsed
        if ctype == "application/x-www-form-urlencoded":
            return self.form()
        if not self.body:
            return {}
        raise ValueError(f"unsupported content type {ctype or '(none)'}")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> Response:
    return Response(status=status, body=json.dumps(payload).encode("utf-8"), headers=dict(headers or {}),
                    content_type=content_type)


def html_response(html: str, status: int = 200) -> Response:
    return Response(status=status, body=html.encode("utf-8"), content_type="text/html; charset=utf-8")


def redirect(location: str) -> Response:
    return Response(status=302, headers={"Location": location}, content_type="text/plain")


def empty_response(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, headers=dict(headers or {}), content_type="")


Handler = Callable[[Request], Response]


class Router:
    """Routes on the raw path split at '/', each segment percent-decoded on its own, so an
    encoded '/' inside a SKU (SKU%201%2Fx) stays inside its segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, list[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method.upper(), pattern.strip("/").split("/"), handler))

    def match(self, method: str, raw_path: str) -> tuple[Handler | None, dict[str, str], bool]:
        """Returns (handler, params, path_known). path_known is True when only the method differs."""
        segments = [unquote(s) for s in raw_path.strip("/").split("/")]
        path_known = False
        for route_method, parts, handler in self._routes:
            if len(parts) != len(segments):
                continue
            params: dict[str, str] = {}
            for part, seg in zip(parts, segments, strict=False):
                if part.startswith("{") and part.endswith("}"):
                    if seg == "":
                        break
                    params[part[1:-1]] = seg
                elif part != seg:
                    break
            else:
                path_known = True
                if route_method == method:
                    return handler, params, True
        return None, {}, path_known


@dataclass
class Faults:
    """Injected failures for vendor routes (never for the /_sandbox/ control API)."""

    error_rate: float = 0.0                       # share of calls answered with an error status
    error_statuses: tuple[int, ...] = (500, 503)
    fail_next: int = 0                            # the next N calls get an error status
    throttle_next: int = 0                        # the next N calls get the vendor's 429
    slow_next: int = 0                            # the next N calls sleep slow_seconds first
    slow_seconds: float = 0.0
    slow_rate: float = 0.0                        # share of calls answered only after slow_seconds
    malformed_next: int = 0                       # the next N calls get a body that is not JSON
    # Ambiguous outcomes: the call IS applied, then the client is not told so.
    # (slow_next above also applies the call before its slow answer: past a client's timeout.)
    fail_after_apply_next: int = 0                # applied, then answered with an error status (5xx)
    drop_after_apply_next: int = 0                # applied, then the connection is closed unanswered
    path_contains: str = ""                       # only calls whose path contains this are affected
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"error_rate": self.error_rate, "error_statuses": list(self.error_statuses),
                "fail_next": self.fail_next, "throttle_next": self.throttle_next,
                "slow_next": self.slow_next, "slow_seconds": self.slow_seconds, "slow_rate": self.slow_rate,
                "malformed_next": self.malformed_next, "fail_after_apply_next": self.fail_after_apply_next,
                "drop_after_apply_next": self.drop_after_apply_next, "path_contains": self.path_contains}


# The dashboard form's choices: each sets the named counter.
FAULT_KINDS = {
    "slow_next": "Apply, then answer after the client's timeout",
    "drop_after_apply_next": "Apply, then reset the connection unanswered",
    "fail_after_apply_next": "Apply, then answer 500",
    "fail_next": "Answer 500 without applying",
    "throttle_next": "Answer 429 (throttled)",
    "malformed_next": "Answer 200 with a body that is not JSON",
}

FAULT_FIELDS = {"error_rate": float, "fail_next": int, "throttle_next": int, "slow_next": int, "slow_rate": float,
                "slow_seconds": float, "malformed_next": int, "fail_after_apply_next": int,
                "drop_after_apply_next": int, "path_contains": str}


class SandboxApp(ABC):
    """Base for a sandbox: vendor routes plus the shared /_sandbox/ control API.

    Subclasses register routes in `register_routes`, implement `vendor_error` (the vendor's error
    body) and `throttled` (the vendor's 429), and may override `before_vendor_call` for auth or
    rate limits. Handlers run one at a time under `self.lock`, so state needs no further locking.
    """

    name = "sandbox"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.router = Router()
        self.calls: list[dict[str, Any]] = []
        self.faults = Faults()
        self._rng = random.Random()
        self.base_url = ""                      # set by SandboxServer once the port is known
        self.router.add("GET", "/_sandbox/calls", self._control_calls)
        self.router.add("DELETE", "/_sandbox/calls", self._control_clear_calls)
        self.router.add("GET", "/_sandbox/faults", self._control_get_faults)
        self.router.add("POST", "/_sandbox/faults", self._control_set_faults)
        self.router.add("POST", "/_sandbox/faults/form", self._control_faults_form)
        self.router.add("POST", "/_sandbox/reset", self._control_reset)
        self.register_routes()

    # -- to override -------------------------------------------------------------------------
    @abstractmethod
    def register_routes(self) -> None:
        """Add the vendor's routes to self.router."""

    @abstractmethod
    def vendor_error(self, status: int, message: str, code: str = "") -> Response:
        """The vendor's error body for this status."""

    @abstractmethod
    def throttled(self, request: Request) -> Response:
        """The vendor's 429 answer."""

    def before_vendor_call(self, request: Request) -> Response | None:
        """Auth and rate limits; return a Response to answer instead of the handler."""
        return None

    def decorate(self, request: Request, response: Response) -> None:
        """Add vendor headers (request ids, rate-limit headers) to every vendor answer."""

    def reset_state(self) -> None:
        """Forget everything the sandbox holds."""

    # -- control API ---------------------------------------------------------------------------
    def _control_calls(self, request: Request) -> Response:
        calls = self.calls
        if request.arg("path_contains"):
            calls = [c for c in calls if request.arg("path_contains") in c["path"]]
        return json_response({"calls": calls})

    def _control_clear_calls(self, request: Request) -> Response:
        self.calls.clear()
        return json_response({"calls": []})

    def _control_get_faults(self, request: Request) -> Response:
        return json_response(self.faults.as_dict())

    def _control_set_faults(self, request: Request) -> Response:
        data = request.json() or {}
        faults = Faults()
        try:
            for key, cast in FAULT_FIELDS.items():
                if key in data:
                    setattr(faults, key, cast(data[key]))
            if "error_statuses" in data:
                faults.error_statuses = tuple(int(s) for s in data["error_statuses"])
        except (TypeError, ValueError) as exc:
            return json_response({"error": f"bad fault value: {exc}"}, status=400)
        if not 0.0 <= faults.error_rate <= 1.0:
            return json_response({"error": "error_rate must be between 0 and 1"}, status=400)
        self.faults = faults
        self._rng = random.Random(data.get("seed"))
        return json_response(faults.as_dict())

    def _control_faults_form(self, request: Request) -> Response:
        """The dashboard's faults form (form-encoded): one kind of fault for the next N matching calls."""
        form = request.form()
        kind = form.get("kind", "")
        if form.get("clear") or not kind:
            self.faults = Faults()
            return redirect("/_sandbox/")
        if kind not in FAULT_KINDS:
            return json_response({"error": f"unknown fault kind {kind!r}"}, status=400)
        try:
            count = int(form.get("count") or 1)
            seconds = float(form.get("slow_seconds") or 25)
        except ValueError as exc:
            return json_response({"error": f"bad fault value: {exc}"}, status=400)
        if count < 1 or seconds < 0:
            return json_response({"error": "count must be at least 1 and seconds not negative"}, status=400)
        faults = Faults(path_contains=form.get("path_contains", "").strip())
        setattr(faults, kind, count)
        if kind == "slow_next":
            faults.slow_seconds = seconds
        self.faults = faults
        return redirect("/_sandbox/")

    def faults_form(self, default_path: str) -> str:
        """HTML for the dashboards: the current faults and a form to set one (usable in `make run`)."""
        current = ", ".join(f"{k} {v}" for k, v in self.faults.as_dict().items()
                            if v and k != "error_statuses") or "none"
        options = "".join(f'<option value="{k}">{escape(label)}</option>' for k, label in FAULT_KINDS.items())
        return (f'<div class="card" id="faults"><h2>Faults</h2><p>Now: <span id="faults-now">{escape(current)}'
                f'</span></p><form method="post" action="/_sandbox/faults/form">'
                f'<label>Fault <select name="kind" id="fault-kind">{options}</select></label>'
                f'<label>For the next <input name="count" type="number" min="1" value="1" size="3"> call(s) '
                f'whose path contains <input name="path_contains" value="{escape(default_path)}"></label>'
                f'<label>Answer after <input name="slow_seconds" type="number" min="0" step="0.1" value="25" '
                f'size="4"> s (slow answers)</label>'
                f'<button type="submit" id="set-fault">Set fault</button>'
                f'<button type="submit" name="clear" value="1" id="clear-faults">Clear faults</button>'
                f'</form></div>')

    def _control_reset(self, request: Request) -> Response:
        self.calls.clear()
        self.faults = Faults()
        self.reset_state()
        return json_response({"reset": True})

    # -- dispatch ------------------------------------------------------------------------------
    def _fault_for(self, request: Request) -> tuple[str, Response | None, float]:
        """Returns (kind, response, delay). kind is '' when no fault applies."""
        f = self.faults
        if f.path_contains and f.path_contains not in request.path:
            return "", None, 0.0
        delay = 0.0
        if f.slow_next > 0:
            f.slow_next -= 1
            delay = f.slow_seconds
        elif f.slow_rate and self._rng.random() < f.slow_rate:
            delay = f.slow_seconds          # the call is carried out; only the answer comes late
        if f.throttle_next > 0:
            f.throttle_next -= 1
            return "throttle", self.throttled(request), delay
        if f.fail_next > 0:
            f.fail_next -= 1
            status = f.error_statuses[0] if f.error_statuses else 500
            return "error", self.vendor_error(status, "Injected failure", "InternalFailure"), delay
        if f.error_rate and self._rng.random() < f.error_rate:
            status = self._rng.choice(f.error_statuses or (500,))
            return "error", self.vendor_error(status, "Injected failure", "InternalFailure"), delay
        if f.malformed_next > 0:
            f.malformed_next -= 1
            return "malformed", Response(status=200, body=b"<html>upstream error", content_type="text/html"), delay
        if f.fail_after_apply_next > 0:
            f.fail_after_apply_next -= 1
            return "fail_after_apply", None, delay
        if f.drop_after_apply_next > 0:
            f.drop_after_apply_next -= 1
            return "drop_after_apply", None, delay
        return ("slow" if delay else ""), None, delay

    def handle(self, request: Request) -> Response:
        handler, params, path_known = self.router.match(request.method, request.raw_path)
        control = request.path.startswith("/_sandbox")
        delay = 0.0
        with self.lock:
            if handler is None:
                response = (self.vendor_error(405, "Method not allowed", "MethodNotAllowed") if path_known
                            else self.vendor_error(404, f"No route for {request.method} {request.path}",
                                                   "NotFound"))
            elif control:
                request.params = params
                response = handler(request)
            else:
                request.params = params
                kind, response, delay = self._fault_for(request)
                if response is None:
                    response = self.before_vendor_call(request)
                if response is None:
                    try:
                        response = handler(request)
                    except (ValueError, KeyError, TypeError) as exc:   # a body we could not read
                        response = self.vendor_error(400, f"Invalid input: {exc}", "InvalidInput")
                    if kind == "fail_after_apply":
                        status = f.error_statuses[0] if (f := self.faults).error_statuses else 500
                        response = self.vendor_error(status, "Injected failure after the call was applied",
                                                     "InternalFailure")
                    elif kind == "drop_after_apply":
                        response = Response(status=0, content_type="")     # _serve closes unanswered
                self.decorate(request, response)
            if not control:
                self.calls.append({
                    "method": request.method, "path": request.path, "query": request.query,
                    "body": _body_for_log(request), "status": response.status, "at": time.time(),
                })
        if delay:
            time.sleep(delay)
        return response


def _body_for_log(request: Request) -> Any:
    if not request.body:
        return None
    try:
        return request.data()
    except (ValueError, UnicodeDecodeError):
        return request.body.decode("utf-8", "replace")[:2000]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def setup(self) -> None:
        super().setup()
        # Without this every small response waits for the peer's delayed ACK (~40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:
            super().log_message(format, *args)

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command.upper(), raw_path=split.path or "/", path=unquote(split.path or "/"),
            query=parse_qs(split.query, keep_blank_values=True), headers=CIDict(self.headers.items()),
            body=body,
        )
        try:
            response = self.server.app.handle(request)
        except Exception as exc:  # a sandbox bug must still answer, in the vendor's error shape
            response = json_response({"errors": [{"code": "InternalFailure", "message": repr(exc)}],
                                      "error": repr(exc)}, status=500)
        if response.status == 0:           # drop_after_apply: the peer sees the connection reset
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        head = [f"HTTP/1.1 {response.status} {self.responses.get(response.status, ('',))[0]}"]
        headers = {"Content-Length": str(len(response.body)), "Date": self.date_time_string(),
                   "Server": f"{self.server.app.name}-sandbox"}
        if response.content_type:
            headers["Content-Type"] = response.content_type
        headers.update(response.headers)
        head += [f"{k}: {v}" for k, v in headers.items()]
        # One send for head and body.
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp, verbose: bool = False) -> None:
        self.app = app
        self.verbose = verbose
        super().__init__(address, _Handler)


class SandboxServer:
    """Runs a SandboxApp on 127.0.0.1. Port 0 picks a free port; `url` says which."""

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        self.app = app
        self._server = _Server((host, port), app, verbose=verbose)
        self.host, self.port = self._server.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"
        app.base_url = self.url
        self._thread: threading.Thread | None = None

    def start(self) -> "SandboxServer":
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"{self.app.name}-sandbox",
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def escape(text: Any) -> str:
    """HTML-escape for the sandboxes' person-facing pages."""
    return html.escape(str(text), quote=True)


__all__ = ["CIDict", "Request", "Response", "Router", "Faults", "SandboxApp", "SandboxServer",
           "json_response", "html_response", "redirect", "empty_response", "escape"]
