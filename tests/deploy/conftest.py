import pytest

from tests.integration.s3server import ACCESS_KEY, REGION, SECRET_KEY, moto_s3_server


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One moto S3 server process for the session; each test makes its own bucket."""
    with moto_s3_server(log=tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


def s3_options(server, bucket: str, **extra) -> dict:
    return {"bucket_name": bucket, "endpoint_url": server.endpoint, "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY, "region_name": REGION, "addressing_style": "path",
            "file_overwrite": False, **extra}


@pytest.fixture
def s3_storage(s3_server, settings, tmp_path):
    """The default storage is a fresh bucket on the moto server (MEDIA_ROOT points at a folder
    that must stay empty); yields (server, bucket)."""
    bucket = s3_server.create_bucket()
    settings.MEDIA_ROOT = tmp_path / "media-must-stay-empty"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options(s3_server, bucket)}}
    yield s3_server, bucket
    assert not settings.MEDIA_ROOT.exists(), "something wrote to the local media folder"
