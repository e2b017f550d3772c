#!/usr/bin/env python3
"""Print the `docker run` / `podman run` flags that run the image as deploy/kubernetes/ runs
its pod, one a line: the user, the read-only root, no capabilities and no new privileges, the
memory limit, each emptyDir as a tmpfs of its size (/dev/shm as --shm-size), the settings of
settings.env, and DEPLOYML_WORKERS as the pod reads it from its CPU limit.

    mapfile -t flags < <(python .ci/pod_flags.py)

Needs PyYAML (a deployml dependency). Values are printed whole: no flag needs a shell to
split or quote it.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

FOLDER = Path(__file__).resolve().parent.parent / "deploy" / "kubernetes"
SHARED_MEMORY = "/dev/shm"
# Kubernetes quantities as docker takes them (1Gi -> 1g).
UNITS = {"Ki": "k", "Mi": "m", "Gi": "g"}


def size(quantity: str) -> str:
    for kubernetes, docker in UNITS.items():
        if quantity.endswith(kubernetes):
            return quantity[: -len(kubernetes)] + docker
    raise ValueError(f"no docker unit for {quantity}")


def cpus(quantity: str) -> float:
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def flags() -> list[str]:
    pod = yaml.safe_load((FOLDER / "deployment.yaml").read_text())["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = pod["securityContext"] | container["securityContext"]
    out = [f"--user={security['runAsUser']}:{security['runAsGroup']}"]
    if security["readOnlyRootFilesystem"]:
        out.append("--read-only")
    out += [f"--cap-drop={cap}" for cap in security["capabilities"]["drop"]]
    if not security["allowPrivilegeEscalation"]:
        out.append("--security-opt=no-new-privileges")
    limits = container["resources"]["limits"]
    out.append(f"--memory={size(limits['memory'])}")
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    for mount in container["volumeMounts"]:
        limit = size(volumes[mount["name"]]["emptyDir"]["sizeLimit"])
        path = mount["mountPath"]
        # emptyDir directories are writable by every user, as these are.
        out.append(
            f"--shm-size={limit}"
            if path == SHARED_MEMORY
            else f"--tmpfs={path}:rw,size={limit},mode=1777"
        )
    out.append(f"--env-file={FOLDER / 'settings.env'}")
    for variable in container.get("env", []):
        if "value" in variable:
            out.append(f"--env={variable['name']}={variable['value']}")
            continue
        field = variable["valueFrom"]["resourceFieldRef"]
        assert field["resource"] == "limits.cpu", field
        workers = math.ceil(cpus(limits["cpu"]) / cpus(field["divisor"]))
        out.append(f"--env={variable['name']}={workers}")
    return out


if __name__ == "__main__":
    print("\n".join(flags()))
