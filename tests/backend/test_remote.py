"""Remote _BASE_ / MODEL.WEIGHTS files: https and detectron2:// only, cached by the full URL, checked (no network needed)."""

from __future__ import annotations

import hashlib
import time
import urllib.request
from pathlib import Path

import pytest

from app.backend import remote
from app.backend.config import ConfigError, builtin_config, load_config
from app.backend.errors import DownloadError
from app.cli import main

UNREACHABLE = "https://127.0.0.1:9/weights/model_final.pth"  # nothing listens on port 9: refused at once


@pytest.mark.parametrize(
    "url", ["http://example.com/a.yaml", "file:///etc/passwd", "ftp://example.com/a.pkl", "s3://bucket/a.pkl", "manifold://x/y"]
)
def test_other_schemes_are_refused_without_a_request(url: str) -> None:
    with pytest.raises(DownloadError, match="only https:// and detectron2://"):
        remote.fetch(url)


def test_detectron2_names_map_to_its_model_zoo() -> None:
    url = remote.https_url("detectron2://ImageNetPretrained/MSRA/R-50.pkl")
    assert url == remote.DETECTRON2_PREFIX + "ImageNetPretrained/MSRA/R-50.pkl" and url.startswith("https://")


def test_the_cache_is_keyed_by_the_full_url(tmp_path: Path) -> None:
    a = "https://127.0.0.1:9/models/w.yaml"
    b = "https://127.0.0.2:9/models/w.yaml"  # another host, same path and name
    assert remote.cache_path(a) != remote.cache_path(b)
    assert remote.cache_path(a) != remote.cache_path(a + "?v=2")
    assert remote.cache_path(a).name == "w.yaml"
    placed = remote.cache_path(a)
    placed.parent.mkdir(parents=True)
    placed.write_text("SOLVER:\n  MAX_ITER: 3\n")
    assert remote.fetch(a) == placed  # served from the cache, no request
    with pytest.raises(DownloadError, match=r"cannot download https://127\.0\.0\.2:9/models/w\.yaml"):
        remote.fetch(b)  # never the other host's cached file


def test_a_failing_download_is_one_line_and_leaves_nothing_in_the_cache() -> None:
    t0 = time.perf_counter()
    with pytest.raises(DownloadError) as info:
        remote.fetch(UNREACHABLE)
    assert time.perf_counter() - t0 < 10
    assert "\n" not in str(info.value) and UNREACHABLE in str(info.value)
    assert not remote.cache_path(UNREACHABLE).parent.exists() or not any(remote.cache_path(UNREACHABLE).parent.iterdir())


def test_checksums_in_the_fragment_or_name_are_verified_on_every_use() -> None:
    content = b"weights"
    sha = hashlib.sha256(content).hexdigest()
    good = f"https://127.0.0.1:9/w.pth#sha256={sha}"
    placed = remote.cache_path(good)
    placed.parent.mkdir(parents=True)
    placed.write_bytes(content)
    assert remote.fetch(good) == placed
    placed.write_bytes(b"tampered")
    with pytest.raises(DownloadError):  # the damaged entry is dropped and fetched again (unreachable here)
        remote.fetch(good)
    assert not placed.exists()
    assert remote.expected_sha256("https://h/resnet50-0676ba61.pth") == "0676ba61"  # torch.hub's convention
    assert remote.expected_sha256("https://h/model_final_f10217.pkl") is None  # detectron2's suffix is a commit


def test_redirects_to_plain_http_are_refused() -> None:
    handler = remote._HttpsOnly()
    req = urllib.request.Request("https://example.com/a.pkl")
    with pytest.raises(DownloadError, match="https only"):
        handler.redirect_request(req, None, 302, "Found", {}, "http://example.com/a.pkl")


def test_a_config_with_a_remote_base_uses_the_cached_file(tmp_path: Path) -> None:
    url = "https://127.0.0.1:9/configs/base.yaml"
    placed = remote.cache_path(url)
    placed.parent.mkdir(parents=True)
    placed.write_text(builtin_config("demo_cpu").read_text().replace("_BASE_", "#_BASE_", 1))
    child = tmp_path / "child.yaml"
    child.write_text(f"_BASE_: {url}\nSOLVER:\n  MAX_ITER: 3\n")
    assert load_config(child).SOLVER.MAX_ITER == 3
    child.write_text("_BASE_: http://127.0.0.1:9/configs/base.yaml\n")
    with pytest.raises(ConfigError, match="only https"):
        load_config(child)


def test_the_cli_says_it_in_one_line(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("_BASE_: https://127.0.0.1:9/configs/missing.yaml\n")
    assert main(["config", "dump", "--config-file", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "cannot download" in err[0]
