"""The console script `pytest-cloudevents` (also `python -m pytest_cloudevents`):

    pytest-cloudevents serve [--host H] [--port P] [--lax] [--ack-status S] [--max-body N]
                             [--tls] [--token TOKEN] [--control-prefix /_ce/]
                             [--advertise-host NAME] [--platform NAME [--platform-option K=V]]
    pytest-cloudevents check URL [--json] [--header 'Name: value'] [--timeout S]
                             [--platform NAME] [--batch]

`serve` runs a standalone receiver in the foreground until Ctrl-C or SIGTERM (then stops
cleanly, exit status 0); its first line of output is `listening on http://HOST:PORT/`.
`check` scores a consumer against the spec (and a platform's contract with `--platform`);
its exit status is 1 when the consumer acknowledges a malformed message or refuses a valid
one, 2 when it cannot be reached (said in one line).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from pytest_cloudevents.config import DEFAULTS, default
from pytest_cloudevents.platforms import INGRESS, NAMES, resolve

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytest-cloudevents",
        description="A standalone CloudEvents receiver with a control API and a live page,"
        " and a conformance check of consumers.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run a standalone receiver until interrupted")
    serve.add_argument(
        "--host", default=default("host"), help=f"address to bind (default {default('host')})"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=default("serve_port"),
        help=f"port (default {default('serve_port')}; 0: any)",
    )
    serve.add_argument("--advertise-host", help="the host name to show in the printed URL")
    serve.add_argument("--lax", action="store_true", help="accept MUST violations as warnings")
    serve.add_argument(
        "--spec",
        choices=["1.0.2", "1.0.3-wip"],
        default="1.0.2",
        help="the CloudEvents text to check: 1.0.2, or the 1.0.3-wip working draft",
    )
    serve.add_argument(
        "--strict-extensions",
        action="store_true",
        help="reject events that break a MUST rule of a documented extension (default: warn)",
    )
    serve.add_argument(
        "--ack-status",
        type=int,
        default=default("ack_status"),
        help=f"{DEFAULTS['ack_status'].help} ({default('ack_status')})",
    )
    serve.add_argument(
        "--max-body", type=int, default=default("max_body"), help=DEFAULTS["max_body"].help
    )
    serve.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS from a throwaway CA (extra tls); its CA bundle path is printed",
    )
    serve.add_argument(
        "--token",
        "--auth",  # its 0.2 name
        dest="token",
        metavar="TOKEN",
        default=os.environ.get("CE_TOKEN", os.environ.get("CE_AUTH_TOKEN")),
        help="require 'Authorization: Bearer TOKEN' on the control API (default: the"
        " CE_TOKEN environment variable; --auth and CE_AUTH_TOKEN are its 0.2 names)",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another host name the control API answers for (repeatable); requests with any"
        " other Host are refused (DNS rebinding)",
    )
    serve.add_argument(
        "--show-credentials",
        action="store_true",
        help="show producers' credentials in the page and the control API (redacted by default)",
    )
    serve.add_argument(
        "--control-prefix", default=default("control_prefix"), help=DEFAULTS["control_prefix"].help
    )
    serve.add_argument(
        "--platform",
        choices=sorted(INGRESS),
        help="answer as this platform's ingress (its paths, credentials and answers)",
    )
    serve.add_argument(
        "--platform-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of the platform (repeatable), e.g. key=K for eventgrid",
    )
    check = commands.add_parser("check", help="score a consumer against the CloudEvents spec")
    check.add_argument("url", help="the consumer's URL")
    check.add_argument("--json", action="store_true", help="print the scorecard as JSON")
    check.add_argument(
        "--header",
        "-H",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a header to send with every message (repeatable), e.g. an Authorization",
    )
    check.add_argument(
        "--timeout",
        type=float,
        default=default("send_timeout"),
        help=f"seconds per message ({default('send_timeout'):g})",
    )
    check.add_argument(
        "--platform",
        choices=sorted(NAMES),
        help="also score the consumer against this platform's contract, delivering as it does",
    )
    check.add_argument(
        "--batch",
        action="store_true",
        help="also send batches (the HTTP binding forbids batches a consumer did not ask for)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return _check(args)


def _serve(args: argparse.Namespace) -> int:
    from pytest_cloudevents.hosts.standalone import Standalone

    settings: dict[str, object] = {}
    for given in args.platform_option:
        name, sep, value = given.partition("=")
        if not sep or not name.strip() or args.platform is None:
            print(
                "pytest-cloudevents serve: --platform-option takes NAME=VALUE, after"
                f" --platform; not {given!r}",
                file=sys.stderr,
            )
            return 2
        settings[name.strip()] = _setting(value.strip())
    try:
        platform = None if args.platform is None else resolve(args.platform, settings)
        receiver = Standalone(
            host=args.host,
            port=args.port,
            advertise_host=args.advertise_host,
            strict=not args.lax,
            extensions="strict" if args.strict_extensions else "warn",
            spec=args.spec,
            ack_status=args.ack_status,
            max_body=args.max_body,
            control_prefix=args.control_prefix,
            token=args.token,
            tls=args.tls,
            allow_hosts=args.allow_host,
            show_credentials=args.show_credentials,
            platform=platform,
        )
    except (ImportError, OSError, TypeError, ValueError) as exc:
        print(f"pytest-cloudevents serve: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def interrupted(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    print(f"listening on {receiver.url}", flush=True)
    if platform is not None:
        print(f"{platform.name} ingress: publish to {receiver.publish_url(**_shape(platform))}")
    print(f"control API and live page: {receiver.control_url}", flush=True)
    if args.tls:
        print(f"CA bundle: {receiver.ca_bundle}", flush=True)
    try:
        while not stop.wait(3600):
            pass
    finally:
        receiver.stop()
    print("stopped", flush=True)
    return 0


def _check(args: argparse.Namespace) -> int:
    from pytest_cloudevents.testing.scorecard import run_check

    headers: dict[str, str] = {}
    for given in args.header:
        name, sep, value = given.partition(":")
        if not sep or not name.strip():
            print(
                f"pytest-cloudevents check: --header takes 'Name: value', not {given!r}",
                file=sys.stderr,
            )
            return 2
        headers[name.strip()] = value.strip()
    try:
        check = run_check(
            args.url,
            headers=headers,
            timeout=args.timeout,
            platform=args.platform,
            batch=args.batch,
        )
    except (TypeError, ValueError) as exc:
        print(f"pytest-cloudevents check: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(check.to_json(), indent=2))
    elif check.unreachable_error is not None:
        print(f"pytest-cloudevents check: {check.render()}", file=sys.stderr)
    else:
        print(check.render())
    if check.unreachable:
        return 2
    return 0 if check.passed else 1


def _setting(value: str) -> object:
    """A --platform-option value: a whole number or true/false as such, else the text."""
    if value.isdigit():
        return int(value)
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _shape(platform: object) -> dict[str, str]:
    """The URL parts a platform's publish URL needs to be shown (Dapr's topic)."""
    return {"topic": "TOPIC"} if getattr(platform, "name", "") == "dapr" else {}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
