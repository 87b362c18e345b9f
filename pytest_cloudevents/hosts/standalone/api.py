"""The control API of a standalone receiver, mounted under a prefix (`/_ce/`) beside the
delivery application. Plain JSON over HTTP, so a test in any language can drive it:

    GET    {prefix}health            200 {"status": "ok"} (no token needed: for probes)
    GET    {prefix}deliveries        ?after=N&wait=S&outcome=O&<attribute>=<value>
    POST   {prefix}reset
    POST   {prefix}rules             a fault, with "times" and "when"
    GET    {prefix}rules             the rules with their hits
    DELETE {prefix}rules
    GET    {prefix}stream            server-sent events, one per answered delivery
    GET    {prefix}                  the live page (and page.js, page.css)

Requests under the prefix are never recorded. With a token, every request but `health` and
the page's static files needs `Authorization: Bearer TOKEN` (or `?token=TOKEN`: the page
reads it from its own URL and passes it on, as EventSource cannot send headers).
Errors are JSON `{"error": ...}`: 400 for a request the API cannot use, 401, 404, 405.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs

from pytest_cloudevents.control_protocol import (
    MAX_WAIT,
    BadJSON,
    delivery_to_json,
    document_from_json,
    fault_from_json,
    fault_to_json,
    matcher_from_json,
    matcher_to_json,
    sql_from_json,
)
from pytest_cloudevents.criteria.match import Matcher, match
from pytest_cloudevents.delivery.access import check_token, presented_token, token_matches
from pytest_cloudevents.delivery.exchange import Answer, Request
from pytest_cloudevents.expect.endpoint import Sink
from pytest_cloudevents.faults.rules import Rule
from pytest_cloudevents.hosts.server.mount import Stream
from pytest_cloudevents.recording.delivery import Delivery
from pytest_cloudevents.wire import media_type

if TYPE_CHECKING:
    from pytest_cloudevents.archive.files import Format

__all__ = ["ControlAPI"]

#: Deliveries in one answer of `GET deliveries` by default (`limit=`), and at most.
PAGE: Final[int] = 500
MAX_PAGE: Final[int] = 5000
#: Seconds between keep-alive comments on an idle stream.
KEEPALIVE: Final[float] = 10.0
_PAGE = {
    "": ("index.html", "text/html; charset=utf-8"),
    "page.js": ("page.js", "text/javascript; charset=utf-8"),
    "page.css": ("page.css", "text/css; charset=utf-8"),
}


class Refused(Exception):
    """A request the API answers with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(status: int, doc: object) -> Answer:
    body = json.dumps(doc, separators=(",", ":")).encode("utf-8")
    return Answer(status, [("Content-Type", "application/json")], body)


class ControlAPI:
    """The control API over one sink (the standalone receiver), under `prefix`."""

    def __init__(
        self,
        sink: Sink,
        *,
        prefix: str = "/_ce/",
        token: str | None = None,
        hosts: frozenset[str] | None = None,
        show_credentials: bool = False,
    ) -> None:
        if not isinstance(prefix, str) or not prefix.startswith("/") or not prefix.endswith("/"):
            raise ValueError(f"the control prefix is a path such as '/_ce/', not {prefix!r}")
        if prefix == "/":
            raise ValueError(f"the control prefix is a path such as '/_ce/', not {prefix!r}")
        self.sink = sink
        self.prefix = prefix
        self.token = None if token is None else check_token(token, "token")
        self._expected = b"" if token is None else token.encode("utf-8")
        #: the host names (lower-cased, no port) a request's Host may give; None: any
        self.hosts = hosts
        self.show_credentials = show_credentials
        self._routes: dict[tuple[str, str], Callable[[Request, dict[str, list[str]]], Any]] = {
            ("GET", "health"): self._health,
            ("GET", "deliveries"): self._deliveries,
            ("POST", "reset"): self._reset,
            ("GET", "rules"): self._list_rules,
            ("POST", "rules"): self._add_rule,
            ("DELETE", "rules"): self._clear_rules,
            ("GET", "stream"): self._unused,
        }

    def owns(self, path: str) -> bool:
        """Whether `path` is under the prefix."""
        return path.startswith(self.prefix) or path == self.prefix.rstrip("/")

    async def handle(self, request: Request, left: asyncio.Event) -> Answer | Stream:
        """Answer one request to the API."""
        name = request.path[len(self.prefix) :] if request.path.startswith(self.prefix) else ""
        query = parse_qs(request.query, keep_blank_values=True)
        try:
            if name != "health":  # probes reach a pod by its address
                self._check_host(request)
            if request.method.upper() not in ("GET", "HEAD", "OPTIONS"):
                self._check_write(request)
            if name != "health" and name not in _PAGE:  # the page's files hold no data
                self._authorize(request, query)
            if name in _PAGE:
                if request.method not in ("GET", "HEAD"):
                    raise Refused(405, "the page is read with GET")
                return _page(name)
            route = self._routes.get((request.method.upper(), name))
            if route is None:
                if any(n == name for _, n in self._routes):
                    allowed = ", ".join(m for m, n in self._routes if n == name)
                    raise Refused(405, f"{self.prefix}{name} takes {allowed}")
                raise Refused(404, f"no {self.prefix}{name}; see the README's control API")
            if name == "stream":
                return self._stream(request, query, left)
            if request.too_large:
                raise Refused(413, "the request body is larger than the receiver's max_body")
            if asyncio.iscoroutinefunction(route) or name == "health":
                result = route(request, query)
                if asyncio.iscoroutine(result):
                    result = await result
            else:  # rules and resets may wait on a store: off the loop, deliveries go on
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(None, route, request, query)
            answer: Answer = result
            return answer
        except Refused as refused:
            headers = [("WWW-Authenticate", "Bearer")] if refused.status == 401 else []
            answer = _json(refused.status, {"error": str(refused)})
            answer.headers += headers
            return answer
        except BadJSON as exc:
            return _json(400, {"error": str(exc)})
        except Exception as exc:  # a store that failed (a lost database): said, not a crash
            problem = f"{type(exc).__name__}: {exc}"
            return _json(503, {"error": f"the control API could not answer: {problem}"})

    # -- access ----------------------------------------------------------------------------

    def _check_host(self, request: Request) -> None:
        """DNS rebinding: a page of another site that resolves its name to this receiver
        sends that name as Host; only the receiver's own names are answered."""
        if self.hosts is None:
            return
        given = request.headers.get("host")
        if given is None:
            return  # HTTP/1.0: no Host, and no browser
        if _hostname(given) not in self.hosts:
            raise Refused(
                403,
                f"this receiver does not answer for Host {given!r}; start it with"
                f" --allow-host {_hostname(given)} if that name is its own",
            )

    def _check_write(self, request: Request) -> None:
        """Cross-origin writes: a write from a page of another origin, or one that is not
        JSON (a form or text/plain post, which browsers send cross-origin without asking),
        is refused."""
        origin = request.headers.get("origin")
        if origin is not None and origin != "null":
            host = request.headers.get("host", "")
            own = {f"http://{host}".lower(), f"https://{host}".lower()}
            if origin.lower() not in own:
                raise Refused(403, f"writes from the origin {origin!r} are refused")
        elif origin == "null":
            raise Refused(403, "writes from an opaque origin are refused")
        content_type = request.headers.get("content-type")
        if content_type is not None and media_type(content_type) != "application/json":
            raise Refused(
                403,
                f"the control API takes JSON: send Content-Type: application/json, not"
                f" {content_type!r}",
            )

    def _authorize(self, request: Request, query: dict[str, list[str]]) -> None:
        if self.token is None:
            return
        presented = presented_token(request.headers)
        if presented is None:
            tokens = query.get("token")
            presented = tokens[0] if tokens else None
        if not token_matches(presented, self._expected):
            raise Refused(401, "this receiver needs its token: send Authorization: Bearer <token>")

    # -- routes ----------------------------------------------------------------------------

    def _unused(self, request: Request, query: dict[str, list[str]]) -> Answer:
        raise AssertionError("the stream is answered by _stream")  # pragma: no cover

    def _health(self, request: Request, query: dict[str, list[str]]) -> Answer:
        return _json(200, {"status": "ok"})

    async def _deliveries(self, request: Request, query: dict[str, list[str]]) -> Answer:
        after = int(_number(query, "after", 0, whole=True))
        wait = min(_number(query, "wait", 0.0), MAX_WAIT)
        limit = int(_number(query, "limit", PAGE, whole=True))
        if not 1 <= limit <= MAX_PAGE:
            raise Refused(400, f"limit is a number of deliveries from 1 to {MAX_PAGE}, not {limit}")
        keep = _filter(query)
        shown = _credentials(query, self.show_credentials)
        form = _format(query)
        log = self.sink.recording.log
        missed = log.missed(after)  # answered after `after`, evicted before this read
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            remaining = max(0.0, deadline - loop.time())
            if remaining > 0:
                found, cursor, generation = await log.wait_settled_async(after, remaining)
            else:
                found, cursor, generation = log.settled_since(after)
            chosen: list[Delivery] = []
            consumed = 0
            for d in found:
                consumed += 1
                if keep(d):
                    chosen.append(d)
                    if len(chosen) == limit:
                        break
            if chosen or remaining <= 0 or cursor < after:
                upto = after + consumed if len(chosen) == limit and cursor >= after else cursor
                page = {
                    "generation": generation,
                    "next": upto,
                    "more": upto < cursor,
                    "evicted": log.evicted,
                    "missed": missed,
                }
                # a page of deliveries is built off the loop: other deliveries go on
                return await loop.run_in_executor(None, _page_answer, page, chosen, shown, form)
            after = cursor  # only non-matching deliveries came: wait on from there

    def _reset(self, request: Request, query: dict[str, list[str]]) -> Answer:
        self.sink.reset()
        return _json(200, {"generation": self.sink.recording.log.generation})

    def _list_rules(self, request: Request, query: dict[str, list[str]]) -> Answer:
        return _json(200, [_rule_json(r) for r in self.sink.recording.rules.snapshot()])

    def _add_rule(self, request: Request, query: dict[str, list[str]]) -> Answer:
        doc = document_from_json(request.body or b"null")
        if not isinstance(doc, dict):
            raise BadJSON(
                'a rule is a JSON object: a fault such as {"fault": "status", "code": 503},'
                ' with optional "times" and "when"'
            )
        times, when = doc.pop("times", None), doc.pop("when", None)
        fault = fault_from_json(doc)
        matcher = None if when is None else matcher_from_json(when)
        try:
            rule = self.sink.inject(fault, times=times, when=matcher)
        except (TypeError, ValueError) as exc:
            raise BadJSON(str(exc)) from None
        return _json(201, _rule_json(rule))

    def _clear_rules(self, request: Request, query: dict[str, list[str]]) -> Answer:
        self.sink.recording.rules.clear()
        return _json(200, [])

    def _stream(self, request: Request, query: dict[str, list[str]], left: asyncio.Event) -> Stream:
        after = int(_number(query, "after", -1, whole=True))
        return Stream(
            self._events(after, left),
            [
                ("Content-Type", "text/event-stream"),
                ("Cache-Control", "no-cache"),
                ("X-Accel-Buffering", "no"),
            ],
        )

    async def _events(self, after: int, left: asyncio.Event) -> AsyncIterator[bytes]:
        """Server-sent events: one `delivery` per answered delivery, `reset` when the log
        was cleared, `evicted` (the count) when retention evicted more, a comment every
        KEEPALIVE seconds."""
        log = self.sink.recording.log
        evicted = log.evicted
        _, cursor, generation = log.settled_since(0)
        if after >= 0:
            cursor = min(after, cursor)
        yield b"retry: 1000\n\n"
        leaving = asyncio.ensure_future(left.wait())
        waiting: asyncio.Future[Any] | None = None
        try:
            while not left.is_set():
                waiting = asyncio.ensure_future(log.wait_settled_async(cursor, KEEPALIVE))
                await asyncio.wait({waiting, leaving}, return_when=asyncio.FIRST_COMPLETED)
                if not waiting.done():
                    return  # the client left
                found, fresh, now = waiting.result()
                if now != generation or fresh < cursor:
                    generation, cursor, evicted = now, 0, 0
                    yield b"event: reset\ndata: {}\n\n"
                    continue
                cursor = fresh
                if not found:
                    yield b": keep-alive\n\n"
                for d in found:
                    text = json.dumps(
                        delivery_to_json(d, credentials=self.show_credentials),
                        separators=(",", ":"),
                    )
                    yield f"event: delivery\ndata: {text}\n\n".encode()
                if log.evicted != evicted:
                    evicted = log.evicted
                    yield f"event: evicted\ndata: {evicted}\n\n".encode()
        finally:
            # the stream ends (client gone, server stopping): leave no task behind
            for pending in (waiting, leaving):
                if pending is not None and not pending.done():
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await pending


def _rule_json(rule: Rule) -> dict[str, Any]:
    shown = None
    if isinstance(rule.when, Matcher):
        with contextlib.suppress(TypeError):
            shown = matcher_to_json(rule.when)
    return {
        "id": rule.ident,
        "fault": fault_to_json(rule.fault),
        "times": rule.times,
        "when": shown,
        "hits": rule.hits,
    }


def _number(
    query: dict[str, list[str]], name: str, default: float, *, whole: bool = False
) -> float:
    values = query.get(name)
    if not values:
        return default
    try:
        value = int(values[0]) if whole else float(values[0])
    except ValueError:
        kind = "a whole number" if whole else "a number of seconds"
        raise Refused(400, f"{name} must be {kind}, not {values[0]!r}") from None
    if value < 0 and not (whole and value == -1 and name == "after"):
        raise Refused(400, f"{name} must not be negative, not {values[0]!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise Refused(400, f"{name} must be finite, not {values[0]!r}")
    return value


_RESERVED = {"after", "wait", "outcome", "token", "limit", "sql", "format", "credentials"}
_TEXT_TYPES: Final[dict[str, str]] = {
    "conformance": "application/yaml; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
}


def _page_answer(
    page: dict[str, Any], chosen: list[Delivery], shown: bool, form: Format | None
) -> Answer:
    """A page of deliveries: JSON, or the accepted events as recordings (`format=`), with
    the page's cursor in headers."""
    if form is None:
        page["deliveries"] = [delivery_to_json(d, credentials=shown) for d in chosen]
        return _json(200, page)
    from pytest_cloudevents.archive.files import records_of, render

    records, comments = records_of(chosen, credentials=shown)
    body = render(records, form, comments).encode("utf-8")
    headers = [
        ("Content-Type", _TEXT_TYPES[form]),
        ("X-CE-Generation", str(page["generation"])),
        ("X-CE-Next", str(page["next"])),
        ("X-CE-More", "true" if page["more"] else "false"),
        ("X-CE-Evicted", str(page["evicted"])),
    ]
    return Answer(200, headers, body)


def _credentials(query: dict[str, list[str]], default: bool) -> bool:
    """Whether a page shows producers' credentials: `credentials=show` asks for them,
    `credentials=redact` hides them; else as `serve --show-credentials` says."""
    given = query.get("credentials", [])
    if not given:
        return default
    if given[0] not in ("show", "redact"):
        raise Refused(400, f"credentials is 'show' or 'redact', not {given[0]!r}")
    return given[0] == "show"


def _format(query: dict[str, list[str]]) -> Format | None:
    given = query.get("format", [])
    if not given or given[0] == "json":
        return None
    from pytest_cloudevents.archive.files import check_format

    try:
        return check_format(given[0])
    except ValueError as exc:
        raise Refused(400, f"{exc} (or 'json', the default)") from None


def _filter(query: dict[str, list[str]]) -> Callable[[Any], bool]:
    outcomes = set(query.get("outcome", []))
    criteria = {k: v[0] for k, v in query.items() if k not in _RESERVED}
    matcher = match(**criteria) if criteria else None
    for text in query.get("sql", []):
        if text.strip():
            try:
                expression = sql_from_json(text)
            except BadJSON as exc:
                raise Refused(400, str(exc)) from None
            matcher = expression if matcher is None else matcher & expression

    def keep(d: Any) -> bool:
        if outcomes and d.outcome not in outcomes:
            return False
        return matcher is None or any(matcher.matches(e) for e in d.events)

    return keep


def _page(name: str) -> Answer:
    filename, content_type = _PAGE[name]
    body = resources.files(__package__).joinpath("page").joinpath(filename).read_bytes()
    return Answer(200, [("Content-Type", content_type), ("Cache-Control", "no-cache")], body)


def _hostname(host: str) -> str:
    """The name of a Host header value, lower-cased, without its port."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
