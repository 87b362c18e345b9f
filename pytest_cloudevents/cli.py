"""The console script `pytest-cloudevents` (also `python -m pytest_cloudevents`):

    pytest-cloudevents serve [--host H] [--port P] [--lax] [--ack-status S] [--max-body N]
                             [--tls] [--token TOKEN] [--control-prefix /_ce/]
                             [--advertise-host NAME] [--platform NAME [--platform-option K=V]]
    pytest-cloudevents check URL [--json] [--header 'Name: value'] [--timeout S]
                             [--platform NAME] [--batch]
    pytest-cloudevents export URL DEST [--format conformance|jsonl] [--show-credentials]
                             [--token TOKEN] [--type T] [--source S]
    pytest-cloudevents send URL PATH... [--mode binary|structured] [--header 'Name: value']
                             [--timeout S] [--json]
    pytest-cloudevents diff A B [--match ATTR[,ATTR]] [--ignore-additions]
    pytest-cloudevents probe URL [--rate R] [--duration S] [--receiver URL] [--json]

`serve` runs a standalone receiver in the foreground until Ctrl-C or SIGTERM (then stops
cleanly, exit status 0); its first line of output is `listening on http://HOST:PORT/`.
`check` scores a consumer against the spec (and a platform's contract with `--platform`);
its exit status is 1 when the consumer acknowledges a malformed message or refuses a valid
one, 2 when it cannot be reached (said in one line).
`export` pulls what a standalone receiver recorded into recordings (conformance YAML, one
file per event in DEST, or JSON lines), credentials redacted unless `--show-credentials`.
`send` replays recordings (files or folders) to URL and prints each result; exit status 1
when one was not acknowledged. `diff` compares two recordings as the conformance tool's
`diff` does: exit status 0 when equal, 1 on a difference, 2 when one cannot be read.
`probe` sends a paced stream of numbered events and reports the missing, duplicated and
out-of-order ones, latencies and answers; exit status 1 when any was lost.
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
from typing import Any

from pytest_cloudevents.config import DEFAULTS, default
from pytest_cloudevents.platforms import INGRESS, NAMES, resolve

__all__ = ["RETAIN", "RETAIN_BYTES", "main"]

#: What `serve` keeps by default: 50,000 small deliveries are about 185 MiB, and 256 MiB of
#: them leaves room for the server within the manifests' memory limit (512 Mi).
RETAIN = 50_000
RETAIN_BYTES = 256 * 2**20


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
        "--retain",
        type=int,
        default=RETAIN,
        metavar="N",
        help=f"keep at most N deliveries, evicting the oldest (default {RETAIN:,}; 0: no bound)",
    )
    serve.add_argument(
        "--retain-bytes",
        type=int,
        default=RETAIN_BYTES,
        metavar="B",
        help="keep at most B bytes of deliveries (estimated), evicting the oldest (default"
        f" {RETAIN_BYTES // 2**20} MiB, within the manifests' 512 Mi; 0: no bound)",
    )
    serve.add_argument(
        "--store",
        metavar="WHERE",
        default=os.environ.get("CE_STORE") or None,
        help="keep the log beside memory: an SQLite file (sqlite:///path.db, or a path: a"
        " restart loses nothing) or PostgreSQL (postgresql://...: replicas share the log and"
        " the fault rules; extra postgres); default: the CE_STORE environment variable",
    )
    serve.add_argument(
        "--forward",
        metavar="URL",
        help="a proxy: send every delivery on to the consumer at URL (after fault rules)"
        " and return its answer, recorded with the delivery",
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
    _sending_options(check)
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
    export = commands.add_parser(
        "export", help="pull a standalone receiver's recorded events into recording files"
    )
    export.add_argument("url", help="the standalone receiver's URL")
    export.add_argument("dest", help="the folder (conformance) or file (jsonl) to write")
    export.add_argument(
        "--format",
        choices=["conformance", "jsonl"],
        default="conformance",
        help="conformance: YAML, one file per event (cloudevents/conformance, eventshub);"
        " jsonl: one JSON event per line",
    )
    export.add_argument(
        "--show-credentials",
        action="store_true",
        help="write producers' credentials as sent (redacted by default)",
    )
    export.add_argument(
        "--token",
        default=os.environ.get("CE_TOKEN"),
        help="the control API's token (serve --token; default: CE_TOKEN)",
    )
    export.add_argument(
        "--control-prefix", default=default("control_prefix"), help=DEFAULTS["control_prefix"].help
    )
    for attribute in ("type", "source", "subject", "id"):
        export.add_argument(f"--{attribute}", help=f"only events with this {attribute}")
    send = commands.add_parser("send", help="replay recorded events to a consumer")
    send.add_argument("url", help="the consumer's URL")
    send.add_argument("paths", nargs="+", metavar="PATH", help="recording files or folders")
    send.add_argument(
        "--mode",
        choices=["binary", "structured"],
        help="send every event in this mode (default: as recorded)",
    )
    _sending_options(send)
    send.add_argument("--json", action="store_true", help="print the results as JSON lines")
    prober = commands.add_parser(
        "probe", help="send a paced stream of numbered events and report what arrived"
    )
    prober.add_argument("url", help="where to send (a receiver, or a pipeline's entry)")
    prober.add_argument("--rate", type=float, default=50.0, help="events a second (50)")
    prober.add_argument("--duration", type=float, default=5.0, help="seconds of sending (5)")
    prober.add_argument(
        "--receiver",
        metavar="URL",
        help="the standalone receiver at the pipeline's end to read (default: URL itself)",
    )
    prober.add_argument(
        "--senders", type=int, default=1, help="send from this many at once (1: in order)"
    )
    prober.add_argument(
        "--settle",
        type=float,
        default=5.0,
        help="seconds to wait for events still on their way (5)",
    )
    prober.add_argument(
        "--token", default=os.environ.get("CE_TOKEN"), help="the receiver's control API token"
    )
    prober.add_argument("--json", action="store_true", help="print the report as JSON")
    compare = commands.add_parser(
        "diff", help="compare two recordings event by event (the conformance tool's diff)"
    )
    compare.add_argument("a", help="the wanted recording (a file or folder)")
    compare.add_argument("b", help="the recording got (a file or folder)")
    compare.add_argument(
        "--match",
        action="append",
        default=[],
        metavar="ATTR[,ATTR]",
        help="the attributes that pair events (repeatable; default: id)",
    )
    compare.add_argument(
        "--ignore-additions",
        action="store_true",
        help="what B has and A does not is no difference (a changed value still is)",
    )
    return parser


def _sending_options(command: argparse.ArgumentParser) -> None:
    """The options of the commands that send messages: headers and a timeout."""
    command.add_argument(
        "--header",
        "-H",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a header to send with every message (repeatable), e.g. an Authorization",
    )
    command.add_argument(
        "--timeout",
        type=float,
        default=default("send_timeout"),
        help=f"seconds per message ({default('send_timeout'):g})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    commands = {
        "serve": _serve,
        "check": _check,
        "export": _export,
        "send": _send,
        "diff": _diff,
        "probe": _probe,
    }
    return commands[args.command](args)


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
            forward=args.forward,
            store=args.store,
            retain=args.retain or None,
            retain_bytes=args.retain_bytes or None,
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
    if args.forward is not None:
        print(f"forwarding to {args.forward}", flush=True)
    if args.store is not None:
        from pytest_cloudevents.send.result import redact

        print(f"store: {redact(args.store)} ({len(receiver.deliveries)} deliveries)", flush=True)
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

    headers = _headers(args.header, "check")
    if headers is None:
        return 2
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


def _headers(given: Sequence[str], command: str) -> dict[str, str] | None:
    """`--header 'Name: value'` options as headers; None (said) when one is malformed."""
    headers: dict[str, str] = {}
    for text in given:
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            print(
                f"pytest-cloudevents {command}: --header takes 'Name: value', not {text!r}",
                file=sys.stderr,
            )
            return None
        headers[name.strip()] = value.strip()
    return headers


def _export(args: argparse.Namespace) -> int:
    from pytest_cloudevents.errors import CloudEventsError
    from pytest_cloudevents.remote import RemoteReceiver

    criteria = {k: getattr(args, k) for k in ("type", "source", "subject", "id")}
    try:
        with RemoteReceiver(
            args.url, token=args.token, control_prefix=args.control_prefix
        ) as remote:
            written = remote.export(
                args.dest,
                format=args.format,
                credentials=args.show_credentials,
                **{k: v for k, v in criteria.items() if v is not None},
            )
    except (CloudEventsError, OSError, TypeError, ValueError) as exc:
        print(f"pytest-cloudevents export: {exc}", file=sys.stderr)
        return 2
    where = args.dest if args.format == "conformance" else written[0]
    print(f"{len(written) if args.format == 'conformance' else 'events'} written to {where}")
    return 0


def _send(args: argparse.Namespace) -> int:
    from pytest_cloudevents.send.client import Client

    headers = _headers(args.header, "send")
    if headers is None:
        return 2
    try:
        with Client(args.url, headers=headers, timeout=args.timeout) as client:
            results = client.replay(args.paths, mode=args.mode)
    except (OSError, TypeError, ValueError) as exc:
        print(f"pytest-cloudevents send: {exc}", file=sys.stderr)
        return 2
    for number, result in enumerate(results, 1):
        if args.json:
            print(json.dumps(_result_json(number, result)))
        else:
            status = "" if result.status is None else f" {result.status}"
            error = "" if result.error is None else f" ({result.error})"
            print(f"#{number} {result.outcome.value}{status}{error}")
    return 0 if all(r.is_ack for r in results) else 1


def _result_json(number: int, result: Any) -> dict[str, Any]:
    return {
        "number": number,
        "outcome": result.outcome.value,
        "status": result.status,
        "error": None if result.error is None else str(result.error),
        "elapsed": result.elapsed,
    }


def _probe(args: argparse.Namespace) -> int:
    from pytest_cloudevents.errors import CloudEventsError
    from pytest_cloudevents.probe import probe

    try:
        report = probe(
            args.url,
            rate=args.rate,
            duration=args.duration,
            receiver=args.receiver,
            token=args.token,
            senders=args.senders,
            settle=args.settle,
        )
    except (CloudEventsError, TypeError, ValueError) as exc:
        print(f"pytest-cloudevents probe: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_json(), indent=2) if args.json else report.render())
    return 0 if report.lossless and report.sent == report.received else 1


def _diff(args: argparse.Namespace) -> int:
    from pytest_cloudevents.archive.diff import diff
    from pytest_cloudevents.archive.files import read_records

    try:
        a, b = read_records(args.a), read_records(args.b)
        report = diff(a, b, match=args.match or ["id"], ignore_additions=args.ignore_additions)
    except ValueError as exc:
        print(f"pytest-cloudevents diff: {exc}", file=sys.stderr)
        return 2
    if report.equal:
        return 0
    sys.stdout.write(report.render())
    return 1


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
