"""Settings parse from the environment with clear errors; the bundled gallery is complete and attributed."""

from pathlib import Path

import pytest

from shared import gallery
from shared.errors import SitterError, UnknownPaintingError
from shared.queues import is_style_id, stylize_queue
from shared.settings import Settings


def test_settings_defaults_and_env() -> None:
    settings = Settings.from_env(
        {
            "SITTER_REDIS_URL": "redis://h:1/2",
            "SITTER_MAX_PIXELS": "100",
            "SITTER_STYLES": "a, b,",
            "SITTER_MODEL_DIR": "/tmp/m",
        }
    )
    assert settings.broker_url == "redis://h:1/2" == settings.result_backend
    assert settings.max_pixels == 100
    assert settings.styles == ("a", "b")
    assert settings.model_dir == Path("/tmp/m")


def test_settings_reject_bad_values() -> None:
    with pytest.raises(SitterError, match="SITTER_MAX_PIXELS"):
        Settings.from_env({"SITTER_MAX_PIXELS": "lots"})
    with pytest.raises(SitterError, match="SITTER_STORAGE"):
        Settings.from_env({"SITTER_STORAGE": "floppy"})


def test_gallery_is_complete_and_attributed() -> None:
    paintings = gallery.paintings()
    assert len(paintings) >= 8
    for item in paintings.values():
        assert item.path.is_file(), item.path
        assert is_style_id(item.id), item.id
        assert item.title and item.artist and item.year and item.source and "public domain" in item.licence
        pixels = gallery.load_painting(item.id)
        assert max(pixels.shape[:2]) <= 1600
    assert len(gallery.sample_portraits()) >= 2


def test_unknown_painting_is_a_typed_error() -> None:
    with pytest.raises(UnknownPaintingError, match="sitter paintings"):
        gallery.painting("no-such-painting")


def test_style_ids_name_queues() -> None:
    assert stylize_queue("starry-night") == "stylize.starry-night"
    with pytest.raises(ValueError, match="kebab-case"):
        stylize_queue("Starry Night")
