"""deploy/kubernetes/, checked offline: every manifest against pinned Kubernetes schemas
(strict: an unknown or misspelt field is refused), and the facts between the manifests and
the server that no schema sees (probe paths, ports, workers, settings, writable paths).

No cluster is needed. kustomize's ConfigMap generator is done here as kustomize does it;
where ``kubectl`` is installed, ``kubectl kustomize`` also renders the folder and the
overlay docs/deployment.md shows, and the result is validated the same way.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from server.app import create_app
from server.gunicorn_app import _SHARED_MEMORY, GRACEFUL_TIMEOUT_SECONDS
from server.settings import PREFIX, Settings

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "deploy" / "kubernetes"
KUSTOMIZATION = "kustomization.yaml"
# The oldest Kubernetes the manifests are for (the preStop sleep action is on by default from
# 1.30) and a current one; pinned, so that a new kubernetes-validate changes nothing here.
KUBERNETES_VERSIONS = ("1.30.0", "1.35.0")
# What a kustomization here may use: anything else would need checking here first.
KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "resources", "configMapGenerator"}
# Seconds gunicorn's master may take to exit once its workers stopped.
EXIT_MARGIN_SECONDS = 2
KUBECTL = shutil.which("kubectl")
VARIABLES = {PREFIX + field.name.upper() for field in dataclasses.fields(Settings)}


def load(name: str) -> dict[str, Any]:
    documents = list(yaml.safe_load_all((FOLDER / name).read_text()))
    assert len(documents) == 1, f"{name} holds one object"
    document: dict[str, Any] = documents[0]
    return document


KUSTOMIZED = load(KUSTOMIZATION)
RESOURCES = {name: load(name) for name in KUSTOMIZED["resources"]}


def one(kind: str) -> dict[str, Any]:
    (found,) = (doc for doc in RESOURCES.values() if doc["kind"] == kind)
    return found


def env_file(text: str) -> dict[str, str]:
    """A kustomize env file: KEY=VALUE lines; blank lines and lines starting with # skipped."""
    pairs = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            key, equals, value = line.partition("=")
            assert equals and key == key.strip(), f"not KEY=VALUE: {line!r}"
            pairs[key] = value
    return pairs


def generated() -> list[dict[str, Any]]:
    """The ConfigMaps kustomize generates from the kustomization's env files."""
    maps = []
    for generator in KUSTOMIZED.get("configMapGenerator", []):
        data: dict[str, str] = {}
        for name in generator["envs"]:
            data |= env_file((FOLDER / name).read_text())
        metadata = {"name": generator["name"], **generator.get("options", {})}
        maps.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data})
    return maps


DEPLOYMENT = one("Deployment")
POD = DEPLOYMENT["spec"]["template"]["spec"]
(CONTAINER,) = POD["containers"]
LIMITS = CONTAINER["resources"]["limits"]
MOUNTS = {mount["mountPath"]: mount["name"] for mount in CONTAINER["volumeMounts"]}


def cpus(quantity: str) -> float:
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def pod_environment() -> dict[str, str]:
    """The DEPLOYML_* variables the container starts with (the image's own aside)."""
    maps = {cm["metadata"]["name"]: cm["data"] for cm in generated()}
    env: dict[str, str] = {}
    for source in CONTAINER.get("envFrom", []):
        env |= maps[source["configMapRef"]["name"]]
    for variable in CONTAINER.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
            continue
        field = variable["valueFrom"]["resourceFieldRef"]
        assert field.get("containerName", CONTAINER["name"]) == CONTAINER["name"]
        kind, resource = field["resource"].split(".")
        assert (kind, resource) == ("limits", "cpu"), "only the CPU limit is read here"
        # The downward API rounds a CPU quantity up to whole divisors.
        env[variable["name"]] = str(math.ceil(cpus(LIMITS["cpu"]) / cpus(field["divisor"])))
    return env


def settings_in_pod(tmp_path: Path, artefact: Path | None = None) -> Settings:
    """Settings.from_env on the pod's variables, each mounted path standing in a local one."""
    env = {
        name: str(tmp_path / MOUNTS[value]) if value in MOUNTS else value
        for name, value in pod_environment().items()
    }
    for value in env.values():
        if value.startswith(str(tmp_path)):
            Path(value).mkdir(parents=True, exist_ok=True)
    if artefact is not None:
        env[PREFIX + "ARTEFACT"] = str(artefact)
    return Settings.from_env(env)


def port_number(port: int | str) -> int:
    """A container port given by number or by name."""
    if isinstance(port, int):
        return port
    (number,) = (p["containerPort"] for p in CONTAINER["ports"] if p["name"] == port)
    return int(number)


def probes() -> dict[str, dict[str, Any]]:
    kinds = ("startupProbe", "readinessProbe", "livenessProbe")
    return {kind: CONTAINER[kind]["httpGet"] for kind in kinds}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_every_manifest_is_valid_kubernetes_with_no_unknown_field(name: str, version: str) -> None:
    kubernetes_validate.validate(RESOURCES[name], version, strict=True)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_generated_settings_config_map_is_valid_kubernetes(version: str) -> None:
    (config_map,) = generated()
    kubernetes_validate.validate(config_map, version, strict=True)


def test_a_misspelt_field_is_refused() -> None:
    broken = yaml.safe_load((FOLDER / "deployment.yaml").read_text())
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_the_kustomization_lists_every_file_in_the_folder_and_only_those() -> None:
    assert set(KUSTOMIZED) <= KUSTOMIZATION_FIELDS
    listed = list(KUSTOMIZED["resources"])
    listed += [name for g in KUSTOMIZED["configMapGenerator"] for name in g["envs"]]
    assert len(listed) == len(set(listed))
    present = {path.name for path in FOLDER.iterdir()} - {KUSTOMIZATION}
    assert sorted(listed) == sorted(present)
    assert sorted(doc["kind"] for doc in RESOURCES.values()) == [
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]


def test_every_deployml_variable_the_folder_names_is_a_server_setting() -> None:
    named = {
        (path.name, name)
        for path in FOLDER.iterdir()
        for name in re.findall(r"\bDEPLOYML_[A-Z0-9_]+", path.read_text())
    }
    assert len(named) > 5
    assert sorted((path, name) for path, name in named if name not in VARIABLES) == []


def test_the_server_accepts_the_pods_settings(tmp_path: Path) -> None:
    settings = settings_in_pod(tmp_path)
    assert settings.port == port_number("http")
    assert settings.host == "0.0.0.0"
    assert settings.model_threads == 1
    assert settings.metrics


def test_workers_are_read_from_the_cpu_limit_of_whole_cpus(tmp_path: Path) -> None:
    (workers,) = (v for v in CONTAINER["env"] if v["name"] == PREFIX + "WORKERS")
    field = workers["valueFrom"]["resourceFieldRef"]
    assert (field["resource"], field["divisor"]) == ("limits.cpu", "1")
    assert cpus(LIMITS["cpu"]).is_integer()
    assert settings_in_pod(tmp_path).workers == cpus(LIMITS["cpu"])
    # Guaranteed: requests equal to limits, so the pod gets the CPUs its workers count on.
    assert CONTAINER["resources"]["requests"] == LIMITS
    assert set(LIMITS) == {"cpu", "memory"}


def test_the_probes_ask_the_servers_routes_on_its_port(
    tmp_path: Path, binary_artefact: Path
) -> None:
    paths = {kind: probe["path"] for kind, probe in probes().items()}
    # Start-up and liveness: the process answers; readiness: it may take traffic.
    live, ready = "/livez", "/readyz"
    assert paths == {"startupProbe": live, "readinessProbe": ready, "livenessProbe": live}
    settings = settings_in_pod(tmp_path, binary_artefact)
    assert {port_number(probe["port"]) for probe in probes().values()} == {settings.port}
    annotations = DEPLOYMENT["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == settings.port
    app = create_app(settings).test_client()
    for path in [*paths.values(), annotations["prometheus.io/path"]]:
        assert app.get(path).status_code == 200, path


def test_the_service_the_autoscaler_and_the_budget_select_the_deployments_pods() -> None:
    labels = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]
    selector = DEPLOYMENT["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    service = one("Service")
    assert service["spec"]["selector"] == selector
    assert {port_number(p["targetPort"]) for p in service["spec"]["ports"]} == {port_number("http")}
    assert one("PodDisruptionBudget")["spec"]["selector"] == {"matchLabels": selector}
    autoscaler = one("HorizontalPodAutoscaler")["spec"]
    target = autoscaler["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        DEPLOYMENT["apiVersion"],
        "Deployment",
        DEPLOYMENT["metadata"]["name"],
    )
    assert autoscaler["minReplicas"] >= 2
    # A replica count in the Deployment would undo the autoscaler's at every apply.
    assert "replicas" not in DEPLOYMENT["spec"]


def test_the_pod_runs_as_a_non_root_user_on_a_read_only_root() -> None:
    pod = POD["securityContext"]
    container = CONTAINER["securityContext"]
    effective = pod | container
    assert effective["runAsNonRoot"] is True
    assert effective["runAsUser"] != 0
    assert effective["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container.get("privileged", False) is False
    assert POD["automountServiceAccountToken"] is False
    assert one("ServiceAccount")["automountServiceAccountToken"] is False
    assert POD["serviceAccountName"] == one("ServiceAccount")["metadata"]["name"]


def test_kubernetes_puts_no_deployml_variable_of_its_own_in_the_pod() -> None:
    # Service links would add DEPLOYML_PORT=tcp://... for the Service named deployml.
    assert POD["enableServiceLinks"] is False


def test_the_pod_writes_only_to_the_memory_volumes_the_server_needs(tmp_path: Path) -> None:
    metrics = pod_environment()[PREFIX + "METRICS_DIR"]
    # gunicorn's heartbeat files, and the Prometheus counts (server/metrics/process.py).
    assert set(MOUNTS) == {str(_SHARED_MEMORY), metrics}
    assert all(not mount.get("readOnly", False) for mount in CONTAINER["volumeMounts"])
    volumes = {volume["name"]: volume for volume in POD["volumes"]}
    assert set(volumes) == set(MOUNTS.values())
    for volume in volumes.values():
        assert set(volume) == {"name", "emptyDir"}
        assert volume["emptyDir"]["medium"] == "Memory"
        assert "sizeLimit" in volume["emptyDir"]


def test_a_stopping_pod_finishes_its_requests_before_it_is_killed() -> None:
    pause = CONTAINER["lifecycle"]["preStop"]["sleep"]["seconds"]
    needed = pause + GRACEFUL_TIMEOUT_SECONDS + EXIT_MARGIN_SECONDS
    assert needed <= POD["terminationGracePeriodSeconds"] <= needed + 30


def test_a_new_pod_must_be_ready_before_an_old_one_stops() -> None:
    rolling = DEPLOYMENT["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0
    assert rolling["maxSurge"] >= 1


def kustomize(folder: Path) -> list[dict[str, Any]]:
    assert KUBECTL is not None
    out = subprocess.run(
        [KUBECTL, "kustomize", str(folder)], check=True, capture_output=True, text=True
    )
    return list(yaml.safe_load_all(out.stdout))


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_kustomize_renders_valid_kubernetes() -> None:
    rendered = kustomize(FOLDER)
    for document in rendered:
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(document, version, strict=True)
    kinds = {doc["kind"]: doc for doc in rendered}
    config_map = kinds["ConfigMap"]
    (generated_map,) = generated()
    assert config_map["data"] == generated_map["data"]
    # The generated name carries a hash, and the Deployment is pointed at it.
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"configMapRef": {"name": config_map["metadata"]["name"]}}]
    assert container["image"] == CONTAINER["image"]


def docs_overlay(tmp_path: Path, *fragments: str) -> dict[str, dict[str, Any]]:
    """The overlay docs/deployment.md shows (with the fragments it shows named in
    ``fragments`` added), pointed at this folder and rendered: the objects by kind."""
    page = (ROOT / "docs" / "deployment.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", page, re.S)
    (overlay,) = [block for block in blocks if "kind: Kustomization" in block]
    document = yaml.safe_load(overlay)
    for fragment in fragments:
        (block,) = [block for block in blocks if block.startswith(f"{fragment}:")]
        document |= yaml.safe_load(block)
    document["resources"] = [os.path.relpath(FOLDER, tmp_path)]
    (tmp_path / KUSTOMIZATION).write_text(yaml.safe_dump(document))
    rendered = kustomize(tmp_path)
    for version in KUBERNETES_VERSIONS:
        for rendered_document in rendered:
            kubernetes_validate.validate(rendered_document, version, strict=True)
    return {doc["kind"]: doc | {"overlay": document} for doc in rendered}


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_the_overlay_in_the_docs_sets_the_image_and_the_artefact_hash(tmp_path: Path) -> None:
    kinds = docs_overlay(tmp_path)
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    image = kinds["Deployment"]["overlay"]["images"][0]
    assert container["image"] == f"{image['newName']}@{image['digest']}"
    data = kinds["ConfigMap"]["data"]
    assert Settings.from_env(data | {PREFIX + "METRICS_DIR": ""}).expected_sha256
    assert data.items() > generated()[0]["data"].items()


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_the_volume_in_the_docs_mounts_the_artefact_read_only_at_model(tmp_path: Path) -> None:
    pod = docs_overlay(tmp_path, "patches")["Deployment"]["spec"]["template"]["spec"]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == "/model"]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["persistentVolumeClaim"]["readOnly"] is True
    # The memory volumes stay.
    assert {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]} == {"/model", *MOUNTS}
