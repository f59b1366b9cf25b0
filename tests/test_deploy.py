"""deploy/kubernetes/: the Zero to JupyterHub values, the volumes, the grader's Jobs and the image recipe
hold together (docs/KUBERNETES.md says what this checks and what only a cluster can).

Fast (but one test, marked slow: the image's Jupyter settings resolved by Jupyter and nbgrader):
files are parsed, not deployed. The values were checked against the chart's schema by hand
(docs/KUBERNETES.md); here, the course's own requirements: a real authenticator, per-learner limits,
the shared volumes defined and mounted where the settings look, and every path into the image
(/srv/course/...) a file of this repository.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "kubernetes"
IMAGE_COURSE = "/srv/course"  # where the Dockerfile puts the repository
MANIFESTS = ["storage.yaml", "data-job.yaml", "release-job.yaml", "grade-job.yaml"]
JOBS = ["data-job.yaml", "release-job.yaml", "grade-job.yaml"]


def load(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc is not None]


def values() -> dict:
    (config,) = load("config.yaml")
    return config


def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def dockerfile_env(name: str) -> str:
    match = re.search(rf"\b{name}=(\S+)", dockerfile())
    assert match, f"the Dockerfile sets no {name}"
    return match.group(1)


def pod_specs() -> list[tuple[str, dict]]:
    return [(name, doc["spec"]["template"]["spec"]) for name in JOBS for doc in load(name) if doc["kind"] == "Job"]


def claims() -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in load("storage.yaml") if doc["kind"] == "PersistentVolumeClaim"}


def quantity(text) -> float:
    """A Kubernetes/z2jh quantity in base units: '3G' -> 3e9, '2Gi' -> 2**31, '250m' -> 0.25, 2 -> 2."""
    units = {"m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text)).groups()
    return float(number) * units.get(unit, 1)


@pytest.mark.parametrize("name", ["config.yaml", *MANIFESTS])
def test_yaml_parses_into_kubernetes_objects(name):
    docs = load(name)
    assert docs, f"{name} is empty"
    if name != "config.yaml":  # helm values, not an object
        for doc in docs:
            assert {"apiVersion", "kind", "metadata"} <= doc.keys(), f"{name}: not a Kubernetes object: {doc}"


def test_the_hub_authenticates_for_real():
    hub = values()["hub"]["config"]
    authenticator = hub["JupyterHub"]["authenticator_class"]
    assert "dummy" not in authenticator.lower() and authenticator != "null"
    assert authenticator == "native" and hub["NativeAuthenticator"]["open_signup"] is False, (
        "sign-ups must wait for the instructor's approval"
    )
    assert hub["Authenticator"]["admin_users"], "someone must be able to approve sign-ups"


def test_learners_have_limits_and_each_a_uid_of_their_own():
    singleuser = values()["singleuser"]
    for resource in ("cpu", "memory"):
        limits = singleuser[resource]
        assert 0 < quantity(limits["guarantee"]) <= quantity(limits["limit"]), f"{resource}: {limits}"
    assert quantity(singleuser["memory"]["limit"]) >= 2e9, "one lesson's CPU training needs over 1 GB"
    # the exchange tells learners apart by uid: the callable must replace the chart's single uid
    uid_config = values()["hub"]["extraConfig"]["learner-uid"]
    assert "c.KubeSpawner.uid = learner_uid" in uid_config
    namespace: dict = {}
    exec(uid_config, {"c": type("Config", (), {"KubeSpawner": type("KubeSpawner", (), {})})()}, namespace)
    spawners = [type("Spawner", (), {"user": type("User", (), {"id": i})})() for i in (1, 2)]
    uids = {namespace["learner_uid"](s) for s in spawners}
    jobs = {spec["securityContext"]["runAsUser"] for _, spec in pod_specs()}
    assert len(uids) == 2 and not uids & jobs, f"learners {uids} vs the instructor's Jobs {jobs}"


def test_the_image_and_its_paths_exist_in_this_repository():
    singleuser = values()["singleuser"]
    image = f"{singleuser['image']['name']}:{singleuser['image']['tag']}"
    for name, spec in pod_specs():
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert container["image"] == image, f"{name}: {container['name']} runs {container['image']}, not {image}"
    mentioned = set()
    for file in DEPLOY.rglob("*"):
        if file.is_file():
            mentioned |= set(re.findall(rf"{IMAGE_COURSE}/[\w./-]+", file.read_text()))
    mentioned -= {f"{IMAGE_COURSE}/.venv/bin"}  # made by the Dockerfile
    assert f"{IMAGE_COURSE}/deploy/kubernetes/start-singleuser.sh" in mentioned
    missing = sorted(p for p in mentioned if not (ROOT / p.removeprefix(IMAGE_COURSE + "/").rstrip(".")).exists())
    assert not missing, f"paths into the image that are not in the repository: {missing}"
    for script in ("start-singleuser.sh", "grade.sh"):
        assert os.access(DEPLOY / script, os.X_OK), f"{script} is not executable"
        subprocess.run(["sh", "-n", DEPLOY / script], check=True)


def test_dockerfile_installs_the_project_as_the_makefile_does():
    text = dockerfile()
    copied = {src for line in re.findall(r"^COPY (.+)$", text, re.M) for src in line.split()[:-1]}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = {"pyproject.toml", project["project"]["readme"], "LICENSE"}
    needed |= {f"{package.rstrip('*')}/" for package in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert needed <= copied, f"pip install -e . needs {sorted(needed - copied)} in the image"
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    assert re.search(r"pip install .*-e \"\.\$EXTRAS\"", text), "the course is not installed from its pyproject"
    makefile = (ROOT / "Makefile").read_text()
    cpu_index = re.search(r"^CPU_INDEX\s*:=\s*(\S+)", makefile, re.M).group(1)
    assert f"ARG TORCH_INDEX={cpu_index}" in text, "torch should come from the Makefile's CPU-only index"
    assert '--index-url "$TORCH_INDEX" torch torchvision' in text
    chart_hub = re.search(r"JupyterHub (\d+\.\d+)", (DEPLOY / "config.yaml").read_text()).group(1)
    assert re.search(rf"ARG JUPYTERHUB_VERSION={re.escape(chart_hub)}\.\d+", text), "single-user and hub differ"


def test_volumes_are_defined_and_mounted_where_the_settings_look():
    defined = claims()
    assert defined["nbgrader-exchange"]["spec"]["accessModes"] == ["ReadWriteMany"]
    assert defined["mnist-data"]["spec"]["accessModes"] == ["ReadWriteMany"]
    storage = values()["singleuser"]["storage"]
    learner_claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in storage["extraVolumes"]}
    learner_mounts = {m["name"]: m["mountPath"] for m in storage["extraVolumeMounts"]}
    assert set(learner_claims.values()) <= defined.keys()
    exchange_root = re.search(
        r'c\.Exchange\.root = "([^"]+)"', (DEPLOY / "singleuser" / "nbgrader_config.py").read_text()
    )
    assert learner_mounts["nbgrader-exchange"] == exchange_root.group(1)
    assert (
        learner_mounts["mnist-data"] == values()["singleuser"]["extraEnv"]["MNIST_DATA"] == dockerfile_env("MNIST_DATA")
    )
    for name, spec in pod_specs():
        job_claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"]}
        assert set(job_claims.values()) <= defined.keys(), name
        for container in spec.get("initContainers", []) + spec["containers"]:
            for mount in container["volumeMounts"]:
                if mount["name"] in learner_mounts:  # the same volume at the same place as for learners
                    assert mount["mountPath"] == learner_mounts[mount["name"]], f"{name}: {mount}"


@pytest.mark.slow  # imports jupyter_server and nbgrader in a fresh interpreter: 5-40 s on 2 busy cores
def test_the_image_settings_give_learners_the_assignments_tab_and_the_exchange(tmp_path):
    """The image's JUPYTER_CONFIG_PATH, resolved by Jupyter and nbgrader themselves."""
    config_path = os.pathsep.join(
        str(ROOT / p.removeprefix(IMAGE_COURSE + "/")) for p in dockerfile_env("JUPYTER_CONFIG_PATH").split(":")
    )
    probe = """if True:
        import json
        from jupyter_server.serverapp import ServerApp
        from jupyterlab_server.config import get_page_config
        from nbgrader.apps.listapp import ListApp
        server = ServerApp()
        server.load_config_file()
        nbgrader = ListApp()
        nbgrader.load_config_file()
        print(json.dumps({
            "disabled": sorted(get_page_config([], None)["disabledExtensions"]),
            "extensions": server.jpserver_extensions,
            "exchange": nbgrader.config.Exchange.root,
            "course_id": nbgrader.config.CourseDirectory.course_id,
        }))"""
    env = dict(os.environ, JUPYTER_CONFIG_PATH=config_path, JUPYTER_CONFIG_DIR=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert "@jupyter/nbgrader:assignment-list" not in seen["disabled"]
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"} <= set(seen["disabled"])
    assert seen["extensions"]["nbgrader.server_extensions.assignment_list"] is True
    assert seen["extensions"]["nbgrader.server_extensions.formgrader"] is False
    assert seen["exchange"] == "/srv/nbgrader/exchange" and seen["course_id"] == "mnist-course"
