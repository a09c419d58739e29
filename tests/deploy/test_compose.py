"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the structure a
`docker compose up --scale worker=N` relies on (services, health checks, dependencies, the
environment the settings read, object storage instead of a shared media volume)."""
import re
from pathlib import Path

import yaml

from exams.health import HEALTH_PATH

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())   # resolves `<<:` merges
SERVICES = COMPOSE["services"]
APP = ("web", "worker", "beat", "migrate")
ONE_SHOT = {name for name, s in SERVICES.items() if s.get("restart") == "no"}
SETTINGS_SOURCE = (ROOT / "config" / "settings.py").read_text()


def command(service: dict) -> str:
    value = service.get("command", service.get("entrypoint", ""))
    return value if isinstance(value, str) else " ".join(value)


def test_services_and_one_shot_jobs():
    assert set(SERVICES) == {"web", "worker", "beat", "migrate", "redis", "postgres", "minio",
                             "createbucket"}
    assert ONE_SHOT == {"migrate", "createbucket"}


def test_every_long_running_service_has_a_health_check():
    for name, service in SERVICES.items():
        if name in ONE_SHOT:
            continue
        check = service.get("healthcheck", {}).get("test")
        assert check and check[0] in ("CMD", "CMD-SHELL"), name
    assert HEALTH_PATH in " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert SERVICES["worker"]["healthcheck"]["test"][1:4] == ["python", "manage.py", "worker_health"]
    assert (ROOT / "exams/management/commands/worker_health.py").is_file()


def test_dependencies_wait_for_health_or_completion():
    for name, service in SERVICES.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in SERVICES, (name, dependency)
            expected = ("service_completed_successfully" if dependency in ONE_SHOT
                        else "service_healthy")
            assert spec["condition"] == expected, (name, dependency)
    for name in ("web", "worker", "beat"):
        assert {"postgres", "redis", "createbucket", "migrate"} <= set(SERVICES[name]["depends_on"])


def test_workers_scale_no_fixed_names_or_ports_and_logs_per_task():
    for name, service in SERVICES.items():
        assert "container_name" not in service, name
    worker = SERVICES["worker"]
    assert "ports" not in worker and "--loglevel=INFO" in command(worker)
    assert command(worker).startswith("celery -A worker worker") and "--beat" not in command(worker)
    assert command(SERVICES["beat"]).startswith("celery -A worker beat")


def test_app_services_use_object_storage_not_a_shared_volume():
    minio_env = SERVICES["minio"]["environment"]
    for name in APP:
        service = SERVICES[name]
        env = service["environment"]
        assert "volumes" not in service, f"{name} mounts a volume: files belong in object storage"
        assert (env["DEBUG"], env["GRADER_EMBEDDED"]) == ("0", "0"), name   # WhiteNoise manifest
        assert env["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env["AWS_ACCESS_KEY_ID"] == minio_env["MINIO_ROOT_USER"]
        assert env["AWS_SECRET_ACCESS_KEY"] == minio_env["MINIO_ROOT_PASSWORD"]
        assert "@postgres:5432/" in env["DATABASE_URL"] and "//redis:6379/" in env["CELERY_BROKER_URL"]
        for variable in env:   # every variable given is one the settings read (no typos)
            assert f'"{variable}"' in SETTINGS_SOURCE, f"{name}: settings never read {variable}"
    bucket = SERVICES["web"]["environment"]["AWS_STORAGE_BUCKET_NAME"]
    assert f"mc mb --ignore-existing local/{bucket}" in command(SERVICES["createbucket"])
    assert "ports" in SERVICES["web"]


def test_named_volumes_are_declared():
    used = {v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", ())}
    assert used == set(COMPOSE["volumes"]) == {"redis", "pgdata", "minio"}


def test_image_installs_the_runtime_only_and_collects_static_files_for_deployment():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r requirements.txt" in dockerfile
    assert "requirements-test" not in re.sub(r"#.*", "", dockerfile)
    collect = next(line for line in dockerfile.splitlines()
                   if line.startswith("RUN") and "collectstatic" in line)
    assert "DEBUG=0" in collect and "GRADER_EMBEDDED=0" in collect


def test_third_party_images_are_pinned_to_a_release():
    """A moving tag (``latest``, or none) pulls another server on the next deploy."""
    for name, service in SERVICES.items():
        image = service.get("image", "")
        if not image or image.startswith("exam-grader:"):
            continue                                   # built here
        assert ":" in image and not image.endswith(":latest"), (name, image)
