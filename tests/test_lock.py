"""docker/constraints.txt is the one lock: it pins everything every extra installs, and the venv matches it.

The dev virtualenv (make), `make test` and the images all install with this file, so a clone gets the versions
the suite ran against. No network: the lock is read, the venv's metadata walked.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from importlib.util import find_spec

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.helpers.deploy import lock

RELOCK = "run `make lock` (refresh the lock) or `make` (reinstall the venv from it)"


def reached(extras: Sequence[str]) -> list[Requirement]:
    """lock.requirements; skipped for the train extra without torch (`make test-fast` leaves it out)."""
    if "train" in extras and find_spec("torch") is None:
        pytest.skip("the train extra is not installed here (`make test` installs it)")
    return lock.requirements(extras)


def test_the_lock_says_it_is_generated() -> None:
    assert lock.CONSTRAINTS.read_text().startswith(lock.HEADER)


def test_the_lock_knows_every_extra_of_the_project() -> None:
    assert {"dev", "train", *lock.IMAGE_EXTRAS} <= set(lock.extras())


@pytest.mark.parametrize("extra", ["", *lock.extras()])
def test_the_lock_pins_everything_an_extra_installs(extra: str) -> None:
    """The base install ("") and each extra: every requirement reached is pinned to a version it accepts."""
    pins = lock.read_pins()
    requirements = reached([extra] if extra else [])
    assert requirements
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned: {RELOCK}"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{requirement} vs {pins[name]}"


def test_every_requirement_reached_is_what_pip_installed_here() -> None:
    """Markers are evaluated for this platform: CPU torch pulls no CUDA wheel; nothing reached is absent."""
    names = {canonicalize_name(requirement.name) for requirement in reached(lock.extras())}
    assert "torch" in names and not {name for name in names if name.startswith("nvidia-")}
    for name in names:
        metadata.version(name)  # raises when the walk reaches something pip did not install
    assert "+" not in lock.read_pins()["torch"], "local labels (+cpu) cannot be installed from PyPI"


def test_the_venv_matches_the_lock() -> None:
    """A stale venv (pyproject or the lock changed, or someone ran pip) fails here, not on some later day."""
    stale = []
    for name, pin in sorted(lock.read_pins().items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # the GPU wheels, which only the GPU stylizer image installs
        if not SpecifierSet(f"=={pin}").contains(installed, prereleases=True):
            stale.append(f"{name} {installed} (locked {pin})")
    assert stale == [], f"the venv is not the lock: {', '.join(stale)}; {RELOCK}"
