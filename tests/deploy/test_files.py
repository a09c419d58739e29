"""exams.files: stored files reach the PDF readers through the storage API, as local copies
cached per process (object storage) or as the local folder's own files."""
import os
import stat
import threading
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from exams import files
from exams.models import Exam

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "tum_endterm" / "blank.pdf"


@pytest.fixture(autouse=True)
def empty_cache():
    files.clear_cache()
    yield
    files.clear_cache()


def stored(code: str, content: bytes, name: str = "blank.pdf"):
    exam = Exam.objects.create(code=code, title=code)
    exam.blank_pdf.save(name, ContentFile(content))
    return exam.blank_pdf


@pytest.mark.django_db
def test_local_folder_files_are_used_in_place(media_root):
    field_file = stored("L1", SAMPLE.read_bytes())
    with files.local_copy(field_file) as path:
        assert path == Path(media_root) / field_file.name
    assert files.cache_stats()["files"] == 0      # nothing copied


@pytest.mark.django_db
def test_object_storage_file_is_copied_once_per_process_and_read_only(s3_storage):
    server, bucket = s3_storage
    content = SAMPLE.read_bytes()
    field_file = stored("S1", content)
    assert server.keys(bucket) == [field_file.name]
    with files.local_copy(field_file) as first:
        assert first.read_bytes() == content
        assert not os.stat(first).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    second = files.local_path(field_file)
    assert Path(second) == first                   # a cache hit: same copy, no new download
    assert files.cache_stats() == {"files": 1, "bytes": len(content)}


@pytest.mark.django_db
def test_a_copy_costs_one_get_and_a_reuse_one_head_request(s3_storage, settings):
    from django.core.files.storage import storages

    default = settings.STORAGES["default"]
    settings.STORAGES = {**settings.STORAGES, "default": {                 # with a key prefix
        **default, "OPTIONS": {**default["OPTIONS"], "location": "tenant-a"}}}
    server, bucket = s3_storage
    field_file = stored("S8", SAMPLE.read_bytes())
    assert server.keys(bucket) == [f"tenant-a/{field_file.name}"]
    requests = []
    client = storages["default"].connection.meta.client
    client.meta.events.register("before-call.s3.*",
                                lambda event_name, **_: requests.append(event_name.split(".")[-1]))
    assert Path(files.local_path(field_file)).read_bytes() == SAMPLE.read_bytes()
    assert requests == ["GetObject"]
    files.local_path(field_file)
    assert requests == ["GetObject", "HeadObject"]


@pytest.mark.django_db
def test_a_name_that_now_holds_other_content_is_downloaded_again(s3_storage):
    server, bucket = s3_storage
    field_file = stored("S7", b"%PDF-1.4 first version")
    with files.local_copy(field_file) as old:
        # Overwritten behind our back (another tool, an overwriting storage): the size differs.
        server.client().put_object(Bucket=bucket, Key=field_file.name, Body=b"%PDF-1.4 second, longer")
        new = Path(files.local_path(field_file))
        assert new.read_bytes() == b"%PDF-1.4 second, longer" and new != old
        assert old.exists()                        # still in use here: not deleted under us
    assert not old.exists()
    assert files.cache_stats()["files"] == 1


@pytest.mark.django_db
def test_threads_asking_for_one_file_share_one_download(s3_storage, monkeypatch):
    field_file = stored("S2", SAMPLE.read_bytes())
    downloads = []
    real = files._download

    def counting(*args):
        downloads.append(1)
        return real(*args)
    monkeypatch.setattr(files, "_download", counting)
    paths = []
    threads = [threading.Thread(target=lambda: paths.append(files.local_path(field_file)))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(downloads) == 1 and len(set(paths)) == 1 and len(paths) == 6


@pytest.mark.django_db
def test_cache_is_bounded_least_recently_used_first_never_a_file_in_use(s3_storage, settings,
                                                                        monkeypatch):
    settings.GRADER_FILE_CACHE_MB = 0          # every copy is over budget once unused
    monkeypatch.setattr(files, "GRACE_S", 0.0)
    a, b = stored("S3", b"%PDF-a" * 1000, "a.pdf"), stored("S4", b"%PDF-b" * 2000, "b.pdf")
    with files.local_copy(a) as path_a:
        with files.local_copy(b) as path_b:
            assert path_a.exists() and path_b.exists()   # both in use: neither evicted
        assert path_b.exists()
        with files.local_copy(a):
            pass                                          # a used again: b is evicted
        assert not path_b.exists() and path_a.exists()
    assert files.cache_stats()["files"] == 1


@pytest.mark.django_db
def test_a_file_missing_from_object_storage_is_file_not_found(s3_storage):
    server, bucket = s3_storage
    field_file = stored("S5", b"%PDF-1.4 gone")
    files.local_path(field_file)                   # cached, then deleted from the bucket
    server.client().delete_object(Bucket=bucket, Key=field_file.name)
    with pytest.raises(FileNotFoundError, match="missing from storage"):
        files.local_path(field_file)
    files.clear_cache()                            # the failed check left it unpinned
    assert files.cache_stats()["files"] == 0
    with pytest.raises(FileNotFoundError, match="missing from storage"):
        files.local_path(field_file)               # and never cached: the GET fails too


@pytest.mark.django_db
def test_unreachable_object_storage_is_a_retryable_connection_error(s3_storage, settings):
    from botocore.config import Config

    from tests.deploy.conftest import s3_options
    server, bucket = s3_storage
    field_file = stored("S6", b"%PDF-1.4 x")
    closed = f"http://127.0.0.1:{_closed_port()}"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": s3_options(server, bucket, endpoint_url=closed,
                              client_config=Config(retries={"max_attempts": 1},
                                                   connect_timeout=1,
                                                   s3={"addressing_style": "path"}))}}
    field_file = Exam.objects.get(code="S6").blank_pdf       # bound to the new storage
    with pytest.raises(files.StorageUnavailable) as raised:
        files.local_path(field_file)
    assert isinstance(raised.value, ConnectionError)         # worker tasks retry these


def test_cache_folders_of_dead_processes_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    parent = tmp_path / files.CACHE_PARENT
    dead = parent / f"{_dead_pid()}-x"
    dead.mkdir(parents=True)
    (dead / "copy.pdf").write_bytes(b"%PDF")
    alive = parent / f"{os.getppid()}-y"
    alive.mkdir()
    cache = files._FileCache()
    folder = cache._folder()
    assert folder.parent == parent and folder.name.startswith(f"{os.getpid()}-")
    assert not dead.exists() and alive.exists()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1
