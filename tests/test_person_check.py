"""No person, no picture: photos without a person are refused at the segment stage, real portraits pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.segmenter.matting import PersonMatter
from services.segmenter.person_check import MIN_AREA, PersonEvidence, refusal
from shared.errors import NoPersonError
from shared.imageio import decode_image

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "person_check"
NO_PERSON = [*sorted(DATA.glob("no-person-*.jpg")), ROOT / "shared/data/paintings/great-wave.jpg"]
PEOPLE = sorted(DATA.glob("person-*.jpg")) + sorted((ROOT / "eval/composite/photos").glob("*.jpg"))


@pytest.fixture(scope="module")
def matter() -> PersonMatter:
    return PersonMatter()


@pytest.mark.parametrize("path", NO_PERSON, ids=lambda path: path.stem)
def test_a_photo_without_a_person_is_refused(matter: PersonMatter, path: Path) -> None:
    with pytest.raises(NoPersonError, match="no person found in the portrait") as refused:
        matter.matte(decode_image(path))
    assert refused.value.code == "no-person" and refused.value.field == "portrait"


@pytest.mark.parametrize("path", PEOPLE, ids=lambda path: path.stem)
def test_real_portraits_pass_including_hard_ones(matter: PersonMatter, path: Path) -> None:
    """A whole small figure, a 208 px photo, a face with no body seen, studio and outdoor portraits."""
    rgb = decode_image(path)
    alpha = matter.matte(rgb)
    assert alpha.shape == rgb.shape[:2]


def test_the_refusal_says_whether_nobody_or_too_little_was_seen() -> None:
    assert refusal(PersonEvidence(face=0.9, body=0.0, area=0.3)) is None
    assert refusal(PersonEvidence(face=0.0, body=0.8, area=0.3)) is None  # seen from behind
    small = refusal(PersonEvidence(face=0.9, body=0.0, area=MIN_AREA / 2))
    assert small is not None and "too small to place (0.5% of the photo)" in small.message
    unsure = refusal(PersonEvidence(face=0.6, body=0.6, area=0.7))  # the logo-like near misses
    assert unsure is not None and "no person found" in unsure.message


@pytest.mark.slow
def test_the_cli_says_so_in_one_line_and_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    photo = DATA / "no-person-coffee.jpg"
    sitter = str(Path(sys.executable).parent / "sitter")
    command = [sitter, "blend", str(photo), "--painting", "starry-night", "-o", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    errors = [line for line in run.stderr.splitlines() if "no person found" in line]
    assert len(errors) == 1 and "Traceback" not in run.stderr and not out.exists()
