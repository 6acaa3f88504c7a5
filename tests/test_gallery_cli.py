"""`sitter gallery` without a server: a local gallery directory (SITTER_GALLERY_DIR) that `sitter blend
--painting ID` reads; and the gallery view a keyless or bundled-off gateway shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gateway.app import create_app
from shared.gallery_dir import DirectoryGalleryStore
from shared.gallery_store import StoredPainting
from shared.imageio import decode_image
from shared.painting_catalog import PaintingCatalog
from shared.settings import Settings
from sitter.cli import main

SCREAM = Path(__file__).parent / "data" / "gallery" / "the-scream.jpg"
META = ["--title", "The Scream", "--artist", "Edvard Munch", "--year", "1893", "--licence", "public domain"]


def test_add_blend_list_and_remove_in_a_local_gallery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SITTER_GALLERY_DIR", str(tmp_path / "gallery"))
    assert main(["gallery", "add", str(SCREAM), "--id", "the-scream", *META]) == 0
    assert "analysis  ready" in capsys.readouterr().out
    assert main(["gallery", "add", str(SCREAM), "--id", "the-scream", *META]) == 2
    assert "already has a painting 'the-scream'" in capsys.readouterr().err
    assert main(["gallery", "add", str(SCREAM), "--id", "Bad Id", *META]) == 2
    assert "slug" in capsys.readouterr().err
    assert main(["gallery", "add", str(tmp_path / "missing.jpg"), "--id", "missing", *META]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["gallery", "list"]) == 0
    assert "the-scream" in capsys.readouterr().out and not (tmp_path / "gallery" / "missing").exists()

    out = tmp_path / "out.png"
    portrait = Path("shared/data/samples/obama-portrait.jpg")
    assert (
        main(["blend", str(portrait), "--painting", "the-scream", "--max-size", "384", "-o", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "painting  the-scream 1200x1528" in printed and "face matched to the painted faces" in printed
    result, painting = decode_image(out), decode_image(SCREAM)
    assert result.shape == painting.shape
    assert 0.01 < (np.abs(result.astype(int) - painting.astype(int)).sum(axis=2) > 30).mean() < 0.6

    assert main(["gallery", "remove", "great-wave"]) == 2
    assert "read-only" in capsys.readouterr().err
    assert main(["gallery", "remove", "the-scream"]) == 0
    assert main(["blend", str(portrait), "--painting", "the-scream", "-o", str(out)]) == 2
    assert "unknown painting 'the-scream'" in capsys.readouterr().err


def test_a_gateway_without_the_bundled_gallery_shows_only_added_paintings(
    module_redis_url: str, tmp_path: Path
) -> None:
    app = create_app(Settings(redis_url=module_redis_url, bundled_gallery=False))
    with app.test_client() as client:
        assert client.get("/v1/paintings").get_json()["paintings"] == []
        assert client.get("/v1/paintings/starry-night").status_code == 404
        form = {"portrait": (SCREAM.open("rb"), "me.jpg"), "painting": "starry-night"}
        refused = client.post("/v1/jobs", data=form)
        assert refused.status_code == 422 and refused.get_json()["code"] == "unknown-painting"


def test_directory_store_keeps_versions_apart(tmp_path: Path) -> None:
    store = DirectoryGalleryStore(tmp_path)
    meta = {"title": "T", "artist": "A", "year": "1900", "licence": "CC0"}
    first = StoredPainting.new("a-painting", meta, (20, 30), "image/png", 1.0)
    store.add(first, b"one")
    assert PaintingCatalog(store).find("a-painting").analysis == "pending"
    assert not store.finish_analysis("a-painting", "another-version", {}, b"")  # a stale analysis is dropped
    assert store.finish_analysis("a-painting", first.version, {"spots": []}, b"thumb")
    item = PaintingCatalog(store).ready("a-painting")
    assert (item.width, item.height, item.credit()["licence"]) == (20, 30, "CC0")
    store.remove("a-painting")
    assert PaintingCatalog(store).ids()[-1] != "a-painting" and store.list() == []
