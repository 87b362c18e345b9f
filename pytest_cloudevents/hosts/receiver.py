"""`Receiver`: the delivery application on a real HTTP server on loopback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pytest_cloudevents.config import NAMES as OPTION_NAMES
from pytest_cloudevents.config import Options, default
from pytest_cloudevents.criteria.schema import Schema
from pytest_cloudevents.delivery.access import AuthArg
from pytest_cloudevents.delivery.app import local_app
from pytest_cloudevents.expect.endpoint import Sink
from pytest_cloudevents.faults.rules import RuleList
from pytest_cloudevents.hosts.server import Limits, Server
from pytest_cloudevents.platforms import INGRESS, Platform, resolve
from pytest_cloudevents.recording.log import DELIVERY_OVERHEAD, DeliveryLog
from pytest_cloudevents.tls import (
    ClientCert,
    TLSMode,
    ca_bundle,
    check_tls,
    client_cert,
    server_context,
)
from pytest_cloudevents.validate import check_path, check_seconds, check_whole

if TYPE_CHECKING:
    from pytest_cloudevents.hosts.forwarder import Forwarder
    from pytest_cloudevents.hosts.server.mount import Mount

__all__ = ["Receiver"]


class Receiver(Sink):
    """A recording CloudEvents receiver: a real HTTP server on loopback.

    Listening as soon as it is constructed; `stop()` (or leaving `with`) shuts it down
    in well under a second.

    - `host`/`port`: bind address (loopback by default) and port (0: an ephemeral one);
    - `advertise_host`: the host name put into `url` (for services in containers);
    - `options`: an `Options` to start from; keywords (`strict`, `ack_status`,
      `wait_timeout`, `max_body`, `check_rejected`, `seed`) override it (see `Options`);
    - `tls`: True serves HTTPS from the plugin's throwaway CA (extra `tls`; see
      `ca_bundle`), "require-client-cert" asks for a client certificate (`client_cert()`);
    - `auth`: a bearer token, or a function of the headers returning True to admit; a
      refused delivery is answered 401 and recorded as rejected with `unauthorized`;
    - `schemas`: JSON Schemas (dicts or .json paths) by event type or dataschema URI
      (extra `schema`); an event whose data breaks its schema is rejected with
      `data-schema-mismatch`;
    - `limits`: the server's bounds (`hosts.server.Limits`: idle and request timeouts, the
      connection cap);
    - `platform`: answer as that platform's ingress ("eventgrid", "knative", "dapr",
      "webhook", or an object from `platforms`): its paths, credentials, answers and the
      attributes it adds; keywords the options do not take go to the platform
      (`Receiver(platform="eventgrid", key="K")`). See `publish_url`;
    - `forward`: a proxy between a real producer and the consumer at this URL: every
      delivery is checked and recorded, fault rules (and a handler) answer first, and
      otherwise the request goes on to the consumer as received (its path under the URL's)
      and the consumer's answer comes back, recorded in `Delivery.forwarded`;
      `forward_timeout` bounds each forwarded request (seconds), `forward_verify` is
      what the proxy trusts of an https:// consumer;
    - `retain` / `retain_bytes`: keep at most this many deliveries / this many bytes of
      them (estimated), evicting the oldest answered ones first (None: no bound, the
      default; `serve` bounds both); `Receiver.evicted` counts what went.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        advertise_host: str | None = None,
        options: Options | None = None,
        tls: bool | str = False,
        auth: AuthArg = None,
        schemas: Mapping[str, Schema] | None = None,
        limits: Limits | None = None,
        platform: str | Platform | None = None,
        forward: str | None = None,
        forward_timeout: float = default("send_timeout"),
        forward_verify: bool | str = True,
        retain: int | None = None,
        retain_bytes: int | None = None,
        **settings: Any,
    ) -> None:
        chosen, options_given = _platform_of(platform, dict(settings))
        log, rules = self._stores(
            None if retain is None else check_whole("retain (deliveries)", retain, minimum=1),
            None
            if retain_bytes is None
            else check_whole("retain_bytes", retain_bytes, minimum=DELIVERY_OVERHEAD),
        )
        try:
            #: the consumer deliveries go on to (`forward=`), or None
            self.forwarder: Forwarder | None = None
            if forward is not None:  # its client (requests) is imported only for a proxy
                from pytest_cloudevents.hosts.forwarder import Forwarder

                self.forwarder = Forwarder(forward, timeout=forward_timeout, verify=forward_verify)
            app = local_app(
                options,
                options_given,
                auth=auth,
                schemas=schemas,
                ingress=chosen,
                forward=self.forwarder,
                log=log,
                rules=rules,
            )
            #: the platform whose ingress this receiver answers as, or None
            self.platform = chosen
            super().__init__(app.recording)
            self.tls: TLSMode = check_tls(tls)
            if not isinstance(host, str) or not host:
                raise TypeError(f"host must be an address such as '127.0.0.1', not {host!r}")
            check_whole("port (0 for any free port)", port, minimum=0, maximum=65535)
            if advertise_host is not None and (
                not isinstance(advertise_host, str) or not advertise_host
            ):
                raise TypeError(
                    f"advertise_host must be a host name such as 'host.docker.internal', not"
                    f" {advertise_host!r}"
                )
            context = server_context(self.tls) if self.tls else None
            if limits is not None and not isinstance(limits, Limits):
                raise TypeError(f"limits must be a Limits(...), not {limits!r}")
            self._server = Server(host, port, app, self._mount(), context, limits)
            self.host = host
            self.port: int = self._server.port
            self.advertise_host = advertise_host
            self._stopped = False
        except BaseException:
            log.close()  # a store's threads and connections go with a receiver never started
            raise

    def _mount(self) -> Mount | None:
        """What the server answers beside the app (the standalone receiver's control API)."""
        return None

    def _stores(
        self, retain: int | None, retain_bytes: int | None
    ) -> tuple[DeliveryLog, RuleList | None]:
        """The log deliveries are recorded in, and the rules (None: the recording's own);
        the standalone receiver's may be kept in a store."""
        return DeliveryLog(retain=retain, retain_bytes=retain_bytes), None

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until what was recorded is written to the store (`Standalone(store=...)`);
        False when `timeout` ran out. Without a store there is nothing to wait for."""
        return self._log.flush(check_seconds("timeout", timeout))

    @property
    def evicted(self) -> int:
        """How many deliveries retention (`retain=`, `retain_bytes=`) evicted since the
        last reset."""
        return self._log.evicted

    @property
    def url(self) -> str:
        """The base URL to give the service under test, e.g. `http://127.0.0.1:PORT/`."""
        return self.url_for("/")

    def publish_url(self, **parts: str) -> str:
        """The URL a producer publishes to, in the platform's shape: an Event Grid topic
        (`/api/events?api-version=2018-01-01`; `topic=` a namespace topic's), a Knative
        broker (`/{namespace}/{broker}`), Dapr's publish API (`topic=` required;
        `/v1.0/publish/{pubsub}/{topic}`); the receiver's URL without a platform."""
        if self.platform is None:
            if parts:
                raise TypeError("publish_url takes parts only on a receiver with platform=")
            return self.url
        return self.platform.publish_url(self.url.rstrip("/"), **parts)

    def url_for(self, path: str = "/") -> str:
        """The URL of `path` on this receiver; any path is accepted and recorded."""
        check_path(path)
        host = self.advertise_host or self.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}/{path.lstrip('/')}"

    @property
    def ca_bundle(self) -> str:
        """The PEM path of the CA that signed this receiver's certificate (tls=...), for
        the service under test: `REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`, httpx's `verify=`."""
        if not self.tls:
            raise ValueError("this receiver speaks plain HTTP: make it with tls=True")
        return ca_bundle()

    def client_cert(self, name: str = "producer") -> ClientCert:
        """A new client certificate (subject `CN=name`) from the receiver's CA, for mutual
        TLS: `(cert, key)` PEM paths, as requests' `cert=` takes them."""
        if not self.tls:
            raise ValueError("this receiver speaks plain HTTP: make it with tls=...")
        if not isinstance(name, str) or not name:
            raise TypeError(f"name is the certificate's common name, not {name!r}")
        return client_cert(name)

    def reset(self) -> None:
        """Forget deliveries, rules and the handler; cut in-flight delays short (their
        connections are closed without an answer)."""
        super().reset()
        self._server.cut_holds()

    def stop(self) -> None:
        """Stop serving: cut in-flight delays, close every connection, join the threads."""
        if self._stopped:
            return
        self._stopped = True
        self._log.cancel_in_flight()
        self._server.stop()
        self._log.close()  # a store writes what is queued
        if self.forwarder is not None:
            self.forwarder.close()

    def close(self) -> None:
        """The same as `stop()`: the lifecycle name every endpoint and client shares."""
        self.stop()

    def __repr__(self) -> str:
        shown = f" platform={self.platform.name}" if self.platform is not None else ""
        if self.forwarder is not None:
            shown += f" forward={self.forwarder.url}"
        return f"<Receiver {self.url}{shown}>"


def _platform_of(
    platform: object, settings: dict[str, object]
) -> tuple[Platform | None, dict[str, object]]:
    """The platform a receiver answers as, and the settings left for its options (the
    others are the platform's, when it is named by a string)."""
    if platform is None:
        return None, settings
    own = {k: v for k, v in settings.items() if k not in OPTION_NAMES}
    rest = {k: v for k, v in settings.items() if k in OPTION_NAMES}
    chosen = resolve(platform, own)
    if chosen.name not in INGRESS:
        raise ValueError(
            f"{chosen.name} has no ingress a producer publishes to; the receiver platforms"
            f" are {sorted(INGRESS)} (deliver to a consumer with ce_client.deliver)"
        )
    return chosen, rest
