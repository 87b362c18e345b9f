"""urllib3 `Retry` presets shaped like the retry policies of Knative and sdk-go.

Both presets retry POST, honour `Retry-After` on 413, 429 and 503, and never raise on
the final status (the client reports it as NACK). The first backoff belongs to the first
retry, that is, to the second attempt: with `delay=d`, an exponential policy waits
`d*2`, `d*4`, `d*8`, ... before retries 1, 2, 3; a linear one waits `d`, `2d`, `3d` (Knative)
or `d`, `d`, `d` (sdk-go's "linear", a constant period).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
from typing import TYPE_CHECKING, Any, Final, Literal

import requests
from requests.adapters import HTTPAdapter
from urllib3 import exceptions as urllib3_errors
from urllib3.util import Retry

from pytest_cloudevents.errors import RetryAfterTooLong
from pytest_cloudevents.send.deadline import install
from pytest_cloudevents.send.retryafter import retry_after_seconds, retry_after_stop
from pytest_cloudevents.validate import check_seconds, check_whole

if TYPE_CHECKING:
    from pytest_cloudevents.send.message import Message
    from pytest_cloudevents.send.result import Result
    from pytest_cloudevents.send.transports import Reply

__all__ = [
    "KNATIVE_STATUSES",
    "SDK_GO_STATUSES",
    "CountingAdapter",
    "ShapedRetry",
    "Tries",
    "after_error",
    "after_status",
    "counting",
    "from_int",
    "knative",
    "retry_after_seconds",
    "retry_after_stop",
    "retry_of",
    "sdk_go",
]

#: Knative Eventing retries 404, 408, 409, 429 and every 5xx.
KNATIVE_STATUSES: Final[frozenset[int]] = frozenset({404, 408, 409, 429, *range(500, 600)})
#: sdk-go's HTTP protocol retries these statuses.
SDK_GO_STATUSES: Final[frozenset[int]] = frozenset({404, 413, 425, 429, 502, 503, 504})

Shape = Literal["exponential", "linear", "constant"]


class ShapedRetry(Retry):
    """A urllib3 `Retry` whose backoff before retry n (n = 1, 2, ...) is `delay * 2**n`
    (exponential), `delay * n` (linear) or `delay` (constant), capped at `backoff_max`."""

    def __init__(
        self, *args: Any, shape: Shape = "exponential", delay: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.shape: Shape = shape
        self.delay = delay

    def new(self, **kw: Any) -> ShapedRetry:
        retry = super().new(**kw)
        assert isinstance(retry, ShapedRetry)
        retry.shape, retry.delay = self.shape, self.delay
        return retry

    def get_backoff_time(self) -> float:
        n = len(self.history)  # failed attempts so far: the next retry is number n
        if n < 1:
            return 0.0
        if self.shape == "exponential":
            value = self.delay * 2**n
        elif self.shape == "linear":
            value = self.delay * n
        else:
            value = self.delay
        return float(min(self.backoff_max, value))


def _build(
    retries: int, statuses: frozenset[int], shape: Shape, delay: float, backoff_max: float
) -> ShapedRetry:
    check_whole("retries", retries, minimum=0)
    check_seconds("delay", delay)
    check_seconds("backoff_max", backoff_max)
    return ShapedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=retries,
        allowed_methods=None,  # every method, POST included
        status_forcelist=sorted(statuses),
        raise_on_status=False,
        respect_retry_after_header=True,
        backoff_max=backoff_max,
        shape=shape,
        delay=float(delay),
    )


def knative(
    retries: int = 3,
    *,
    delay: float = 0.2,
    policy: Literal["exponential", "linear"] = "exponential",
    backoff_max: float = 120.0,
) -> ShapedRetry:
    """Knative's delivery spec: `retry` retries, `backoffPolicy` and `backoffDelay`
    (seconds here), on 404, 408, 409, 429 and 5xx."""
    if policy not in ("exponential", "linear"):
        raise ValueError(f"policy must be 'exponential' or 'linear', not {policy!r}")
    return _build(retries, KNATIVE_STATUSES, policy, delay, backoff_max)


def sdk_go(
    retries: int = 3,
    *,
    period: float = 0.2,
    strategy: Literal["exponential", "linear"] = "exponential",
    backoff_max: float = 120.0,
) -> ShapedRetry:
    """sdk-go's `RetryParams`: `MaxTries` retries with a `Period`, on 404, 413, 425, 429,
    502, 503 and 504. Its "linear" strategy waits the same period before every retry."""
    if strategy not in ("exponential", "linear"):
        raise ValueError(f"strategy must be 'exponential' or 'linear', not {strategy!r}")
    return _build(
        retries,
        SDK_GO_STATUSES,
        "exponential" if strategy == "exponential" else "constant",
        period,
        backoff_max,
    )


def from_int(retries: int) -> ShapedRetry:
    """What `Client(retry=N)` means: N retries with the Knative status set and backoff."""
    return knative(retries)


# --------------------------------------------------------------------------- counting
# `Result.attempts` must be exact: a counting copy of the user's Retry notes every retry
# urllib3 allows, per thread, and the adapter reads the count back after the send.

_retries = threading.local()
_COUNTING: dict[type[Retry], type[Retry]] = {}
_COUNTING_LOCK = threading.Lock()


def counting(retry: Retry) -> Retry:
    """A copy of `retry` that counts, per thread, the retries it allows, and that returns
    the last response instead of raising on the final status."""
    base = type(retry)
    with _COUNTING_LOCK:
        cls = _COUNTING.get(base)
        if cls is None:

            def increment(self: Retry, *args: Any, **kwargs: Any) -> Retry:
                response = kwargs.get("response")
                if response is not None:
                    limit = getattr(_retries, "max_retry_after", math.inf)
                    reason = retry_after_stop(response.headers.get("Retry-After"), limit)
                    if reason is not None:  # urllib3 then returns this response
                        _retries.stopped = reason
                        pool: Any = kwargs.get("_pool")
                        url = str(args[1] if len(args) > 1 else kwargs.get("url"))
                        raise urllib3_errors.MaxRetryError(pool, url, RetryAfterTooLong(reason))
                new = base.increment(self, *args, **kwargs)  # raises when exhausted
                _retries.count = getattr(_retries, "count", 0) + 1
                return new

            def get_retry_after(self: Retry, response: Any) -> float | None:
                return retry_after_seconds(response.headers.get("Retry-After"))

            cls = type(
                f"Counting{base.__name__}",
                (base,),
                {"increment": increment, "get_retry_after": get_retry_after},
            )
            _COUNTING[base] = cls
    counted = copy.copy(retry)
    counted.__class__ = cls
    counted.raise_on_status = False
    return counted


class CountingAdapter(HTTPAdapter):
    """An adapter whose retries are counted (give it a `counting(...)` Retry), and that
    makes no retry a `Retry-After` longer than `max_retry_after` asks for."""

    def __init__(self, *args: Any, max_retry_after: float = math.inf, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        install(self.poolmanager)  # each attempt gets a total deadline (send/deadline.py)

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        _retries.count = 0
        _retries.stopped = None
        _retries.max_retry_after = self.max_retry_after
        return super().send(request, *args, **kwargs)

    @staticmethod
    def attempts() -> int:
        """HTTP requests this thread's last send made: 1 + the retries allowed."""
        return 1 + int(getattr(_retries, "count", 0))

    @staticmethod
    def stopped() -> str | None:
        """Why this thread's last send made no more retries (a Retry-After too long)."""
        reason: str | None = getattr(_retries, "stopped", None)
        return reason


def retry_of(retry: Retry | int | None) -> Retry:
    """What a client's `retry=` means: a Retry as given, N retries (`from_int`), or None
    (no retries)."""
    if retry is None:
        return Retry(0, read=False, raise_on_status=False)
    if isinstance(retry, bool):
        raise TypeError("retry takes a urllib3 Retry, a number of retries, or None; not a bool")
    if isinstance(retry, int):
        return from_int(retry)
    if isinstance(retry, Retry):
        return retry
    raise TypeError(
        f"retry takes a urllib3 Retry, a number of retries, or None, not {retry!r};"
        " see pytest_cloudevents.retry.knative()"
    )


# --------------------------------------------------------------------------- by hand
# Where no urllib3 adapter sits (AsyncClient, in-process apps) the client drives the same
# Retry object itself: these two steps say whether to retry and how long to wait first,
# exactly as urllib3's `urlopen` and `Retry.sleep` decide.


class _Answered:
    """The little of a urllib3 response that `Retry.increment` reads."""

    def __init__(self, status: int) -> None:
        self.status = status

    @staticmethod
    def get_redirect_location() -> bool:
        return False


def after_status(
    retry: Retry, method: str, url: str, status: int, retry_after: str | None
) -> tuple[Retry, float] | None:
    """After a response: the next Retry and the seconds to wait, or None to stop here.

    The wait honours `Retry-After` when the Retry respects it, and is the Retry's
    backoff otherwise."""
    if not retry.is_retry(method, status, bool(retry_after)):
        return None
    try:
        new = retry.increment(method, url, response=_Answered(status))  # type: ignore[arg-type]
    except urllib3_errors.HTTPError:  # MaxRetryError: out of retries
        return None
    wait = retry_after_seconds(retry_after) if new.respect_retry_after_header else None
    return new, wait if wait else new.get_backoff_time()


def after_error(
    retry: Retry, method: str, url: str, error: BaseException, *, connecting: bool
) -> tuple[Retry, float] | None:
    """After a failed request: the next Retry and the backoff, or None to give up.

    `connecting` says the connection was never made (urllib3's connect errors, retried for
    any method); other failures count as read errors, retried only for allowed methods."""
    cause: Exception = (
        urllib3_errors.ConnectTimeoutError(str(error))
        if connecting
        else urllib3_errors.ProtocolError(str(error))
    )
    try:
        new = retry.increment(method, url, error=cause)
    except urllib3_errors.HTTPError:
        return None
    return new, new.get_backoff_time()


class Tries:
    """Counts the attempts of one send and decides, with the client's urllib3 `Retry`,
    whether to try again and how long to wait first (for the clients that drive the
    Retry by hand: `AsyncClient` and in-process apps)."""

    def __init__(self, retry: Retry, message: Message, max_retry_after: float = math.inf) -> None:
        self.retry = retry
        self.message = message
        self.max_retry_after = max_retry_after
        self.count = 0
        #: why no more retries were made (a Retry-After too long), or None
        self.stopped: str | None = None

    def after_reply(self, reply: Reply) -> float | None:
        """Seconds to wait before retrying after this response, or None to stop."""
        retry_after = next((v for k, v in reply.headers if k.lower() == "retry-after"), None)
        if self.retry.is_retry(self.message.method, reply.status, bool(retry_after)):
            self.stopped = retry_after_stop(retry_after, self.max_retry_after)
            if self.stopped is not None:
                return None
        step = after_status(
            self.retry, self.message.method, self.message.url, reply.status, retry_after
        )
        return self._take(step)

    def finish(self, result: Result) -> Result:
        """The result, with why the retries stopped early (if they did) as its error."""
        if self.stopped is None:
            return result
        return dataclasses.replace(result, error=RetryAfterTooLong(self.stopped))

    def after_error(self, error: BaseException, *, connecting: bool) -> float | None:
        """Seconds to wait before retrying after this failure, or None to give up."""
        step = after_error(
            self.retry, self.message.method, self.message.url, error, connecting=connecting
        )
        return self._take(step)

    def _take(self, step: tuple[Retry, float] | None) -> float | None:
        if step is None:
            return None
        self.retry, wait = step
        return wait
