"""docker-compose.yml, read as data (no Docker engine here): every secret is a ${VAR} from the
git-ignored .env, each variable is in .env.example, each published port is on 127.0.0.1, each
long-running service has a healthcheck."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stockstream.config import PROJECT_ROOT
from tests.unit.test_no_secrets import credentials_in

pytestmark = pytest.mark.unit

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY\b|CREDENTIAL", re.IGNORECASE)
SECRETS = {
    "POSTGRES_PASSWORD",
    "AIRFLOW_ADMIN_PASSWORD",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def example_keys() -> dict[str, bool]:
    """name -> set in .env.example (True) or only shown in a comment (False)."""
    keys: dict[str, bool] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=", line)
        if match:
            keys[match.group(2)] = keys.get(match.group(2), False) or match.group(1) is None
    return keys


def test_the_stack_is_all_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {
        "kafka",
        "postgres",
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "stream",
        "dashboard",
    }
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    # Airflow and the stockstream services run the image the Dockerfile builds.
    built = [name for name, service in services.items() if service.get("build") == "."]
    assert set(built) >= {"airflow-api-server", "airflow-scheduler", "stream", "dashboard"}
    assert {services[name]["image"] for name in built} == {"stockstream:${STOCKSTREAM_IMAGE_TAG:-local}"}
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in dockerfile and "pip install --no-deps" in dockerfile
    assert "\nUSER stockstream" in dockerfile, "not root"


def test_every_secret_is_a_reference_to_the_env_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):  # a path to one is no secret
                assert REFERENCE.fullmatch(value), f"{name}: {key} is a literal, not a ${{VAR}}"
            # A password inside a URL (user:password@host) is a reference too.
            for password in re.findall(r"://[^/:@\s]+:([^@\s]+)@", value):
                assert REFERENCE.fullmatch(password), f"{name}: {key} holds a literal password"
    assert credentials_in(COMPOSE.read_text()) == []


def test_secrets_must_be_set_and_none_has_a_default(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    for match in REFERENCE.finditer(text):
        if match.group("name") in SECRETS:
            # ${VAR:?message}: compose stops when it is unset or empty; never ${VAR:-default}.
            assert match.group("rest").startswith(":?"), match.group(0)
    used = {match.group("name") for match in REFERENCE.finditer(text)}
    assert used >= SECRETS


def test_every_variable_is_in_env_example_and_secrets_are_empty_there(compose: dict[str, Any]) -> None:
    keys = example_keys()
    used = {match.group("name") for match in REFERENCE.finditer(COMPOSE.read_text())}
    assert sorted(used - set(keys)) == []
    for line in ENV_EXAMPLE.read_text().splitlines():
        name, _, value = line.partition("=")
        if name in SECRETS:
            assert value.split("#")[0].strip() == "", f"{name} has a value in .env.example"
    assert all(keys[name] for name in SECRETS), "the secrets are uncommented keys to fill in"


def test_every_published_port_is_on_the_loopback(compose: dict[str, Any]) -> None:
    published = []
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if isinstance(port, dict):  # the long syntax
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
                published.append(int(port["published"]))
            else:
                host, _, rest = str(port).partition(":")
                assert host == "127.0.0.1" and rest.count(":") == 1, (
                    f"{name}: {port} is not 127.0.0.1:HOST:CONTAINER"
                )
                published.append(int(rest.split(":")[0]))
        assert service.get("network_mode") != "host", name
        assert not service.get("privileged"), name
    assert sorted(published) == [8050, 8080, 9092]
    assert "ports" not in compose["services"]["postgres"]


def test_services_that_keep_running_have_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if service.get("restart") == "no":  # one-shot set-up: init jobs
            continue
        assert "test" in service.get("healthcheck", {}), f"{name} has no healthcheck"


def test_airflow_asks_for_a_login_and_serves_no_logs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    api = environment(services["airflow-api-server"])
    assert api["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "False"
    assert api["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert services["airflow-scheduler"]["command"][-1] == "--skip-serve-logs"
    assert services["airflow-triggerer"]["command"][-1] == "--skip-serve-logs"
    init = environment(services["airflow-init"])
    assert init["AIRFLOW_ADMIN_PASSWORD"] == (
        "${AIRFLOW_ADMIN_PASSWORD:?set AIRFLOW_ADMIN_PASSWORD in .env (see .env.example)}"
    )


def test_env_is_git_ignored_and_kept_out_of_the_image() -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    checked = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "check-ignore", "-q", ".env"], capture_output=True, check=False
    )
    if checked.returncode == 128:
        pytest.skip("not a git checkout")
    assert checked.returncode == 0
    dockerignore = (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in dockerignore and "var/" in dockerignore


def test_the_docs_say_the_compose_file_is_not_exercised_here() -> None:
    said = " ".join((PROJECT_ROOT / "docs" / "security.md").read_text().split())
    assert "not yet exercised" in said


def compose_cli() -> bool:
    """Whether `docker compose` (the v2 plugin) is installed; `config` needs no engine."""
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not compose_cli(), reason="no `docker compose` on this machine")
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("".join(f"{name}=x\n" for name in SECRETS))
    done = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "--env-file", str(env), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
