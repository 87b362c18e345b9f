"""deploy/: the container recipe and the manifests agree with the CLI (offline: the YAML is
parsed and checked, nothing is deployed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_cloudevents.cli import _parser

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
IMAGE = "pytest-cloudevents:0.1"


def entrypoint() -> list[str]:
    for line in (DEPLOY / "Containerfile").read_text().splitlines():
        if line.startswith("ENTRYPOINT"):
            return list(yaml.safe_load(line.removeprefix("ENTRYPOINT").strip()))
    raise AssertionError("the Containerfile has no ENTRYPOINT")


def health_path() -> str:
    prefix: str = _parser().parse_args(["serve"]).control_prefix
    return prefix + "health"


def test_the_container_runs_serve_on_all_interfaces_port_8080() -> None:
    command = entrypoint()
    assert command[:2] == ["pytest-cloudevents", "serve"]
    args = _parser().parse_args(command[1:])
    assert (args.host, args.port) == ("0.0.0.0", 8080)
    text = (DEPLOY / "Containerfile").read_text()
    assert "EXPOSE 8080" in text and "USER 65532" in text
    assert 'CE_TOKEN=""' not in text  # an empty token stops serve; none is the default


def test_the_kubernetes_manifests_match_the_cli() -> None:
    docs: list[dict[str, Any]] = list(yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    service = next(d for d in docs if d["kind"] == "Service")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == IMAGE
    [port] = container["ports"]
    assert port["containerPort"] == 8080
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": health_path(), "port": port["name"]}
    assert deployment["spec"]["replicas"] == 1
    [exposed] = service["spec"]["ports"]
    assert exposed["targetPort"] == port["name"]
    assert service["spec"]["selector"] == deployment["spec"]["template"]["metadata"]["labels"]
    assert container["env"][0]["name"] == "CE_TOKEN"


def test_the_knative_service_matches_the_cli() -> None:
    doc = yaml.safe_load((DEPLOY / "knative-service.yaml").read_text())
    assert doc["apiVersion"] == "serving.knative.dev/v1" and doc["kind"] == "Service"
    template = doc["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/min-scale"] == "1"
    assert annotations["autoscaling.knative.dev/max-scale"] == "1"
    [container] = template["spec"]["containers"]
    assert container["image"] == IMAGE
    assert container["ports"] == [{"containerPort": 8080}]
    assert container["readinessProbe"]["httpGet"]["path"] == health_path()


def test_the_replicas_manifest_shares_one_postgresql_log(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_cloudevents.cli import RETAIN_BYTES

    docs: list[dict[str, Any]] = list(
        yaml.safe_load_all((DEPLOY / "kubernetes-replicas.yaml").read_text())
    )
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    receivers = kinds[("Deployment", "cloudevents-receiver")]
    database = kinds[("StatefulSet", "cloudevents-postgres")]
    db_service = kinds[("Service", "cloudevents-postgres")]
    assert receivers["spec"]["replicas"] == 3
    [container] = receivers["spec"]["template"]["spec"]["containers"]
    assert container["image"] == IMAGE
    env = {e["name"]: e for e in container["env"]}
    # the store's URL names the database's Service, its port and the password from the secret
    store = env["CE_STORE"]["value"]
    assert store.startswith("postgresql://ce:$(PGPASSWORD)@cloudevents-postgres:5432/")
    assert list(env).index("PGPASSWORD") < list(env).index("CE_STORE")  # expanded in order
    [db_port] = db_service["spec"]["ports"]
    assert db_port["port"] == 5432
    assert db_service["spec"]["selector"] == database["spec"]["template"]["metadata"]["labels"]
    [postgres] = database["spec"]["template"]["spec"]["containers"]
    db_env = {e["name"]: e for e in postgres["env"]}
    assert db_env["POSTGRES_USER"]["value"] == "ce" and store.endswith(
        "/" + db_env["POSTGRES_DB"]["value"]
    )
    assert db_env["POSTGRES_PASSWORD"]["valueFrom"] == env["PGPASSWORD"]["valueFrom"]
    # serve reads CE_STORE; the default retention fits the memory limit
    monkeypatch.setenv("CE_STORE", "postgresql://x@h/db")
    args = _parser().parse_args(["serve"])
    assert args.store == "postgresql://x@h/db"
    limit = container["resources"]["limits"]["memory"]
    assert limit == "512Mi" and RETAIN_BYTES <= 512 * 2**20 // 2
    assert "postgres" in (DEPLOY / "Containerfile").read_text()  # the image has psycopg
