"""Record, replay and diff in the forms the CloudEvents tools use: the conformance tool's
own YAML files load and replay; what the plugin exports is in that form and round-trips to
equal events in both modes; JSON lines; redaction; the control API's and the CLI's export,
send and diff."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from pytest_cloudevents import Client, Receiver, Standalone, load
from pytest_cloudevents.archive.diff import diff
from pytest_cloudevents.archive.files import read_records
from pytest_cloudevents.archive.records import RecordError
from pytest_cloudevents.cli import main
from pytest_cloudevents.events import build
from pytest_cloudevents.remote import RemoteReceiver
from pytest_cloudevents.wire import event_to_json

DATA = Path(__file__).parent / "data" / "conformance"
EXAMPLES = DATA / "yaml"
DIFFS = DATA / "diff"

#: The keys the conformance tool's Go structs give a document and its attributes
#: (pkg/event/event.go), and the one the plugin adds for data that is not text.
TOP_KEYS = {"Mode", "ContextAttributes", "TransportExtensions", "Data", "DataBase64"}
ATTRIBUTE_KEYS = {
    "specversion",
    "type",
    "time",
    "id",
    "source",
    "subject",
    "schemaurl",
    "dataschema",
    "datacontenttype",
    "Extensions",
}


def as_json(events: list[Any]) -> list[dict[str, Any]]:
    return [event_to_json(e) for e in events]


def examples_keys() -> tuple[set[str], set[str]]:
    """The top-level and attribute keys the tool's own example files use."""
    top: set[str] = set()
    attributes: set[str] = set()
    for path in sorted(DATA.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                top |= set(doc)
                attributes |= set(doc.get("ContextAttributes") or {})
    return top, attributes


# --------------------------------------------------------------------------- the tool's files


def test_the_conformance_tools_examples_load_as_the_events_they_describe() -> None:
    events = load(EXAMPLES / "v1_minimum.yaml")
    assert [e.get_attributes()["id"] for e in events] == [
        f"conformance-000{n}" for n in range(1, 7)
    ]
    first, _, json_string, json_object, json_array, xml = (event_to_json(e) for e in events)
    assert first["specversion"] == "1.0"  # `specversion: 1.0` is text, not a float
    assert first["data"] == "Hello, World!\n"  # the block keeps its line break: data is whole
    assert json_string["data"] == "Hello, 🌎!"
    assert json_object["data"] == {"msg": "Hello, 🌎!"}
    assert json_array["data"] == ["Hello", "🌎!"]
    assert xml["data"] == "<msg>Hello, 🌎!</msg>\n"
    (v1,) = as_json(load(EXAMPLES / "v1.yaml"))
    assert v1["time"] == "2018-04-05T03:56:24Z"  # as written, not a YAML timestamp
    # an extension written as a block loses the notation's line break, as the tool trims it
    assert v1["comexampleextension2"] == '{"othervalue": 5}'
    assert [e["specversion"] for e in as_json(load(EXAMPLES / "v03_minimum.yaml"))] == ["0.3"] * 2


def test_the_conformance_tools_examples_replay_as_recorded(tmp_path: Path) -> None:
    records = read_records(EXAMPLES)
    with Receiver() as receiver, Client() as client:
        results = client.replay(EXAMPLES, to=receiver.url)
        assert [r.status for r in results] == [202] * len(records)
        # the tool sends a document without a Mode in binary mode, with its transport headers
        assert {d.mode for d in receiver.deliveries} == {"binary"}
        v1 = next(d for d in receiver.deliveries if d.headers.get("ce-id") == "4321-4321-4321")
        assert v1.headers["user-agent"] == "foo"
        assert as_json(receiver.events) == as_json(load(EXAMPLES))


def test_a_folder_replays_in_name_order_and_reads_its_folders(tmp_path: Path) -> None:
    records = read_records(DIFFS / "sample6")
    # got/got.yaml (two documents) before want/a.yaml and want/c.yaml
    assert [r.get("type") for r in records] == [
        "com.example.someevent.c",
        "com.example.someevent.a",
        "com.example.someevent.a",
        "com.example.someevent.c",
    ]
    assert records[0].origin.endswith("got.yaml#1")


# --------------------------------------------------------------------------- export


def sent_events() -> list[Any]:
    """Events of every shape an export must keep: JSON, text and binary data, no data, and
    extensions of each type."""
    return [
        build(
            {
                "specversion": "1.0",
                "id": "json-1",
                "source": "/orders",
                "type": "com.example.order.placed",
                "time": "2026-12-01T10:00:00Z",
                "subject": "order/1",
                "datacontenttype": "application/json",
                "dataschema": "https://example.com/order.json",
                "sequence": 7,
                "partitioned": True,
                "tenant": "acme",
            },
            {"total": 12.5, "items": ["a", "b"], "note": "line one\nline two"},
        ),
        build(
            {
                "specversion": "1.0",
                "id": "text-1",
                "source": "/notes",
                "type": "com.example.note",
                "datacontenttype": "text/plain; charset=utf-8",
            },
            "Hello, 🌎!\nsecond line\n",
        ),
        build(
            {
                "specversion": "1.0",
                "id": "bytes-1",
                "source": "/blobs",
                "type": "com.example.blob",
                "datacontenttype": "application/octet-stream",
            },
            bytes(range(256)),
        ),
        build(
            {"specversion": "1.0", "id": "none-1", "source": "/x", "type": "com.example.x"}, None
        ),
    ]


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_an_export_is_in_the_conformance_form_and_round_trips_to_equal_events(
    mode: str, tmp_path: Path
) -> None:
    with Receiver() as receiver, Client(receiver.url, mode=mode) as client:
        for event in sent_events():
            assert client.send(event).is_ack
        written = receiver.export(tmp_path / "out")
        assert [p.name for p in written] == [
            "000001-json-1.yaml",
            "000002-text-1.yaml",
            "000003-bytes-1.yaml",
            "000004-none-1.yaml",
        ]
        top, attributes = examples_keys()
        for path in written:
            (doc,) = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
            assert doc["Mode"] == mode
            assert set(doc) <= TOP_KEYS and set(doc) - {"DataBase64"} <= top | {
                "TransportExtensions"
            }
            assert set(doc["ContextAttributes"]) <= ATTRIBUTE_KEYS
            assert set(doc["ContextAttributes"]) - {"dataschema", "subject"} <= attributes | {
                "datacontenttype"
            }
            for value in doc["ContextAttributes"].get("Extensions", {}).values():
                assert isinstance(value, (str, int, bool))  # a map of scalars, as the tool's
        texts = [p.read_text(encoding="utf-8") for p in written]
        assert "Data: |\n  Hello, 🌎!\n  second line\n" in texts[1]  # text as a literal block
        assert "DataBase64:" in texts[2] and "Data:" not in texts[3]
        # loaded back: the events the receiver recorded
        assert as_json(load(tmp_path / "out")) == as_json(receiver.events)
        # replayed as recorded: a second receiver records the same events, in the same mode
        with Receiver() as again:
            assert all(r.is_ack for r in client.replay(tmp_path / "out", to=again.url))
            assert {d.mode for d in again.deliveries} == {mode}
            assert as_json(again.events) == as_json(receiver.events)


def test_extension_types_survive_a_structured_round_trip(tmp_path: Path) -> None:
    with Receiver() as receiver, Client(receiver.url, mode="structured") as client:
        client.send(sent_events()[0])
        receiver.export(tmp_path)
    (event,) = as_json(load(tmp_path))
    assert (event["sequence"], event["partitioned"], event["tenant"]) == (7, True, "acme")
    text = next(tmp_path.glob("*.yaml")).read_text()
    assert "    sequence: 7\n" in text and "    partitioned: true\n" in text


def test_a_batch_exports_each_event_structured(tmp_path: Path) -> None:
    events = sent_events()[:2]
    with Receiver() as receiver, Client(receiver.url) as client:
        assert client.send_batch(events).is_ack
        written = receiver.export(tmp_path)
    assert len(written) == 2
    assert all("Mode: structured" in p.read_text() for p in written)
    assert as_json(load(tmp_path)) == as_json(events)


def test_json_lines_round_trip_and_replay_structured_unless_asked(tmp_path: Path) -> None:
    with Receiver() as receiver, Client(receiver.url) as client:
        for event in sent_events():
            client.send(event)
        (file,) = receiver.export(tmp_path / "events.jsonl", format="jsonl")
        lines = file.read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["id"] for line in lines] == [
            "json-1",
            "text-1",
            "bytes-1",
            "none-1",
        ]
        assert as_json(load(file)) == as_json(receiver.events)
        with Receiver() as again:
            client.replay(file, to=again.url)
            assert {d.mode for d in again.deliveries} == {"structured"}
            client.replay(file, to=again.url, mode="binary")
            assert [d.mode for d in again.deliveries][-4:] == ["binary"] * 4
            assert as_json(again.events[4:]) == as_json(receiver.events)
        # a folder as the target: events.jsonl in it
        (inside,) = receiver.export(tmp_path, format="jsonl")
        assert inside == tmp_path / "events.jsonl"


def test_export_keeps_only_accepted_events_and_those_that_match(tmp_path: Path) -> None:
    with Receiver() as receiver, Client(receiver.url) as client:
        for event in sent_events():
            client.send(event)
        client.send_raw({"ce-specversion": "1.0"}, b"{}")  # rejected: not exported
        written = receiver.export(tmp_path, type="com.example.note")
    assert [p.name for p in written] == ["000001-text-1.yaml"]


def test_credentials_are_redacted_unless_asked_for_and_a_replay_leaves_them_out(
    tmp_path: Path,
) -> None:
    secret = {"Authorization": "Bearer s3cret", "aeg-sas-key": "k3y", "X-Trace": "t-1"}
    with Receiver() as receiver, Client(receiver.url, headers=secret) as client:
        client.send(sent_events()[1])
        (redacted,) = receiver.export(tmp_path / "redacted")
        (shown,) = receiver.export(tmp_path / "shown", credentials=True)
    text = redacted.read_text()
    assert "s3cret" not in text and "k3y" not in text
    transport = yaml.safe_load(text)["TransportExtensions"]
    assert transport["Authorization"] == transport["aeg-sas-key"] == "<redacted>"
    assert transport["X-Trace"] == "t-1"
    assert yaml.safe_load(shown.read_text())["TransportExtensions"]["Authorization"] == (
        "Bearer s3cret"
    )
    with Receiver() as again, Client(again.url) as plain:
        plain.replay(tmp_path / "redacted")
        headers = again.deliveries[0].headers
        assert "Authorization" not in headers and headers["X-Trace"] == "t-1"
    with Receiver() as again, Client(again.url, headers={"Authorization": "Bearer new"}) as own:
        own.replay(tmp_path / "redacted")
        assert again.deliveries[0].headers["Authorization"] == "Bearer new"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("bad.yaml", "ContextAttributes: [1, 2\n", "not YAML"),
        ("mode.yaml", "Mode: batch\nContextAttributes: {id: x}\n", "Mode is binary or structured"),
        (
            "list.yaml",
            "ContextAttributes:\n  id: [1, 2]\n",
            "ContextAttributes.id must be a single",
        ),
        ("top.yaml", "- a\n- b\n", "the document must be a mapping"),
        ("line.jsonl", '{"id": "1"}\n[1]\n', "line.jsonl:2: each line is one event"),
        ("json.jsonl", "{nope\n", "json.jsonl:1: not JSON"),
        (
            "b64.yaml",
            "ContextAttributes: {specversion: '1.0', id: x, source: /s, type: t}\n"
            "DataBase64: '***'\n",
            "DataBase64 is not base64",
        ),
    ],
)
def test_a_recording_that_cannot_be_read_is_a_clear_error(
    name: str, text: str, says: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(RecordError, match=None) as raised:
        load(path)
    assert says in str(raised.value) and name in str(raised.value)


def test_missing_paths_empty_folders_and_invalid_events_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="no such file or folder"):
        load(tmp_path / "nope.yaml")
    with pytest.raises(RecordError, match="holds no recordings"):
        load(tmp_path)
    (tmp_path / "e.yaml").write_text("ContextAttributes:\n  type: t\n")
    with pytest.raises(RecordError, match=r"e\.yaml: the recorded event breaks the spec: .*id"):
        load(tmp_path / "e.yaml")
    with Receiver() as receiver, pytest.raises(ValueError, match="format is 'conformance'"):
        receiver.export(tmp_path, format="yaml")
    with Client() as client, pytest.raises(ValueError, match="mode is None"):
        client.replay(tmp_path, to="http://127.0.0.1:1/", mode="batch")


def test_an_invalid_recording_replays_malformed_as_recorded(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text("ContextAttributes:\n  type: t\n  source: /s\nData: x\n")
    with Receiver() as receiver, Client(receiver.url) as client:
        (result,) = client.replay(tmp_path)
        assert result.status == 400
        assert receiver.deliveries[0].outcome == "rejected"
        receiver.assert_rejected(code="missing-specversion")


# --------------------------------------------------------------------------- diff


def test_diff_reports_as_the_conformance_tool_does() -> None:
    a, b = read_records(DIFFS / "sample4_b.yaml"), read_records(DIFFS / "sample3_b.yaml")
    report = diff(a, b, match=["id", "source"])
    # the tool's own expected report for its sample 3 (pkg/diff/diff_test.go)
    assert report.render() == (
        "id[4321-4321-4321-a] source[/mycontext/subcontext] diffs (-a, +b):\n"
        "-   type: com.example.someevent\n"
        "+   type: com.example.some.other.event\n"
    )
    # sample 6: the second part of the tool's expected report
    report = diff(
        read_records(DIFFS / "sample6" / "want"),
        read_records(DIFFS / "sample6" / "got"),
        match=["type"],
        ignore_additions=True,
    )
    assert report.render() == (
        "type[com.example.someevent.c] diffs (-a, +b):\n"
        "-   source: /mycontext/subcontext\n"
        "+   source: /mycontext/subcontext2\n"
    )
    # samples 4, 7 and 8: what b adds is no difference with ignore_additions
    for want, got, keys in [
        ("sample4_a.yaml", "sample4_b.yaml", ["type"]),
        ("sample7_a.yaml", "sample7_b.yaml", ["type,subject"]),
        ("sample8_a.yaml", "sample8_b.yaml", ["type", "subject"]),
    ]:
        found = diff(
            read_records(DIFFS / want), read_records(DIFFS / got), match=keys, ignore_additions=True
        )
        assert found.equal, found.render()
        assert not diff(read_records(DIFFS / want), read_records(DIFFS / got), match=keys).equal


def test_diff_command_exit_codes_and_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = DIFFS / "sample1_a.yaml"
    # equal: exit 0, nothing printed
    assert main(["diff", str(one), str(one)]) == 0
    assert capsys.readouterr().out == ""
    # reordered: the same events in the other order are equal
    docs = one.read_text().split("---\n")
    (tmp_path / "reordered.yaml").write_text("---\n".join(reversed(docs)))
    assert main(["diff", str(one), str(tmp_path / "reordered.yaml")]) == 0
    # different: exit 1 and the report
    assert (
        main(
            [
                "diff",
                "--match",
                "id,source",
                str(DIFFS / "sample4_b.yaml"),
                str(DIFFS / "sample3_b.yaml"),
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert out.startswith("id[4321-4321-4321-a] source[/mycontext/subcontext] diffs (-a, +b):\n")
    # missing: exit 1
    (tmp_path / "first.yaml").write_text(docs[0])
    assert main(["diff", str(one), str(tmp_path / "first.yaml")]) == 1
    assert capsys.readouterr().out == "missing: id[4321-4321-4321-b]\n"
    # --ignore-additions
    args = ["--match", "type", str(DIFFS / "sample4_a.yaml"), str(DIFFS / "sample4_b.yaml")]
    assert main(["diff", *args]) == 1
    capsys.readouterr()
    assert main(["diff", "--ignore-additions", *args]) == 0
    # unreadable: exit 2, one line on stderr
    assert main(["diff", str(one), str(tmp_path / "nope.yaml")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_diff_compares_json_data_as_json_across_the_two_forms(tmp_path: Path) -> None:
    with Receiver() as receiver, Client(receiver.url) as client:
        client.send(sent_events()[0])
        receiver.export(tmp_path / "yaml")
        receiver.export(tmp_path / "lines.jsonl", format="jsonl")
    assert diff(read_records(tmp_path / "yaml"), read_records(tmp_path / "lines.jsonl")).equal
    changed = tmp_path / "lines.jsonl"
    changed.write_text(changed.read_text().replace('"total":12.5', '"total":13'))
    report = diff(read_records(tmp_path / "yaml"), read_records(changed))
    assert '-     "total": 12.5' in report.render() and '+     "total": 13' in report.render()


# --------------------------------------------------------------------------- standalone


def test_the_control_api_serves_recordings_and_credentials_when_asked() -> None:
    with (
        Standalone() as served,
        Client(served.url, headers={"Authorization": "Bearer s3"}) as client,
    ):
        for event in sent_events():
            client.send(event)
        got = requests.get(served.control_url + "deliveries", params={"format": "conformance"})
        assert got.headers["Content-Type"].startswith("application/yaml")
        assert got.headers["X-CE-Next"] == "4" and got.headers["X-CE-More"] == "false"
        docs = list(yaml.safe_load_all(got.text))
        assert [d["ContextAttributes"]["id"] for d in docs] == [
            "json-1",
            "text-1",
            "bytes-1",
            "none-1",
        ]
        assert docs[0]["TransportExtensions"]["Authorization"] == "<redacted>"
        lines = requests.get(served.control_url + "deliveries?format=jsonl&type=com.example.note")
        assert [json.loads(line)["id"] for line in lines.text.splitlines()] == ["text-1"]
        shown = requests.get(served.control_url + "deliveries?credentials=show").json()
        assert shown["deliveries"][0]["headers"]["Authorization"] == "Bearer s3"
        hidden = requests.get(served.control_url + "deliveries").json()
        assert hidden["deliveries"][0]["headers"]["Authorization"] == "<redacted>"
        bad = requests.get(served.control_url + "deliveries?format=xml")
        assert bad.status_code == 400 and "format is" in bad.json()["error"]
        assert requests.get(served.control_url + "deliveries?credentials=x").status_code == 400


def test_export_command_pulls_a_standalone_receivers_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        Standalone(token="tok") as served,
        Client(served.url, headers={"Authorization": "Bearer s3"}) as client,
    ):
        for event in sent_events():
            client.send(event)
        assert main(["export", served.url, str(tmp_path / "out"), "--token", "tok"]) == 0
        assert capsys.readouterr().out.startswith("4 written to")
        assert "s3" not in "".join(p.read_text() for p in (tmp_path / "out").iterdir())
        with RemoteReceiver(served.url, token="tok") as remote:
            assert as_json(load(tmp_path / "out")) == as_json(remote.events)
        args = [
            "export",
            served.url,
            str(tmp_path / "shown"),
            "--token",
            "tok",
            "--show-credentials",
        ]
        assert main([*args, "--type", "com.example.note"]) == 0
        (file,) = (tmp_path / "shown").iterdir()
        assert "Bearer s3" in file.read_text()
        assert (
            main(
                [
                    "export",
                    served.url,
                    str(tmp_path / "l.jsonl"),
                    "--format",
                    "jsonl",
                    "--token",
                    "tok",
                ]
            )
            == 0
        )
        assert len((tmp_path / "l.jsonl").read_text().splitlines()) == 4
        capsys.readouterr()
        assert main(["export", served.url, str(tmp_path / "x")]) == 2  # no token
        assert "refused the token" in capsys.readouterr().err


def test_send_command_replays_recordings_and_fails_on_a_nack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_cloudevents import faults

    with Receiver() as receiver:
        assert (
            main(
                ["send", receiver.url, str(EXAMPLES / "v1.yaml"), str(EXAMPLES / "v1_minimum.yaml")]
            )
            == 0
        )
        out = capsys.readouterr().out.splitlines()
        assert out == [f"#{n} ACK 202" for n in range(1, 8)]
        assert len(receiver.events) == 7
        receiver.inject(faults.status(503), times=1)
        assert (
            main(["send", receiver.url, str(EXAMPLES / "v1.yaml"), "--json", "-H", "X-A: 1"]) == 1
        )
        (line,) = capsys.readouterr().out.splitlines()
        assert json.loads(line)["status"] == 503
        assert receiver.deliveries[-1].headers["X-A"] == "1"
        assert main(["send", receiver.url, str(tmp_path / "none.yaml")]) == 2
        assert "no such file" in capsys.readouterr().err


def test_data_base64_is_the_plugins_own_key_and_the_tools_reader_would_skip_it(
    tmp_path: Path,
) -> None:
    """The conformance form has no field for data that is not text: `DataBase64` holds it
    (the Go reader ignores keys it does not know)."""
    with Receiver() as receiver, Client(receiver.url) as client:
        client.send(sent_events()[2])
        (path,) = receiver.export(tmp_path)
    doc = yaml.safe_load(path.read_text())
    assert base64.b64decode(doc["DataBase64"]) == bytes(range(256))
    assert "Data" not in doc


def test_the_async_client_replays_as_the_client_does(tmp_path: Path) -> None:
    import asyncio

    from pytest_cloudevents import AsyncClient

    async def replay(url: str) -> list[int | None]:
        async with AsyncClient(url) as client:
            return [r.status for r in await client.replay(EXAMPLES / "v1_minimum.yaml")]

    with Receiver() as receiver:
        assert asyncio.run(replay(receiver.url)) == [202] * 6
        assert as_json(receiver.events) == as_json(load(EXAMPLES / "v1_minimum.yaml"))
