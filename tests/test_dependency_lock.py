"""Every Python package the service and its tests run on is locked, with hashes, and installed
from the lock: a new release of a transitive package (python-engineio, say) changes nothing until
someone runs ``make lock`` and commits what it resolved."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKS = {"runtime": ROOT / "requirements.txt", "test": ROOT / "requirements-test.txt"}
# The setuptools releases before 78.1.1 let a package index write outside its folder (CVE-2025-47273).
SETUPTOOLS_FLOOR = Version("78.1.1")
ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$")


def entries(lock: Path) -> dict[str, tuple[str, Marker | None, list[str]]]:
    """name → (version, marker, hashes) of each package pinned in ``lock``."""
    found: dict[str, tuple[str, Marker | None, list[str]]] = {}
    name = None
    for line in lock.read_text().splitlines():
        if match := ENTRY.match(line):
            name = canonicalize_name(match["name"])
            marker = Marker(match["marker"]) if match["marker"] else None
            assert name not in found, f"{name} is pinned twice in {lock.name}"
            found[name] = (match["version"], marker, [])
        elif (hashed := re.match(r"^\s+--hash=sha256:([0-9a-f]{64})", line)) and name:
            found[name][2].append(hashed[1])
        elif line.strip() and not line.lstrip().startswith("#"):
            raise AssertionError(f"{lock.name}: an unpinned or unknown line: {line!r}")
    return found


def declared(group: str) -> list[Requirement]:
    runtime = [Requirement(text) for text in PYPROJECT["project"]["dependencies"]]
    if group == "runtime":
        return runtime
    return runtime + [Requirement(text) for text in PYPROJECT["project"]["optional-dependencies"]["test"]]


@pytest.mark.parametrize("group", LOCKS)
def test_finding_11_every_dependency_is_locked_with_hashes_at_the_version_pyproject_pins(group: str) -> None:
    locked = entries(LOCKS[group])
    for name, (pinned, _, hashes) in locked.items():
        assert hashes, f"{name}=={pinned} has no hash in {LOCKS[group].name}"
    for requirement in declared(group):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in {LOCKS[group].name}: run `make lock`"
        assert locked[name][0] in requirement.specifier, f"{LOCKS[group].name} pins {name}=={locked[name][0]}"
    # Transitive packages are there too, and so are the tools the install itself runs.
    assert {"python-engineio", "multidict", "pip", "setuptools"} <= set(locked)


def test_finding_11_the_tests_run_on_the_versions_the_service_runs_on() -> None:
    runtime, test = entries(LOCKS["runtime"]), entries(LOCKS["test"])
    for name, (pinned, _, hashes) in runtime.items():
        assert name in test and test[name][0] == pinned, f"{name}: {pinned} at run time, {test.get(name)} in tests"
        assert set(hashes) <= set(test[name][2])


def test_finding_11_the_build_requirement_is_past_the_known_advisories() -> None:
    [setuptools] = [Requirement(r) for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    floor = min((Version(s.version) for s in setuptools.specifier if s.operator == ">="), default=None)
    assert floor is not None and floor >= SETUPTOOLS_FLOOR, f"the build requirement admits {setuptools}"
    for lock in LOCKS.values():
        assert Version(entries(lock)["setuptools"][0]) in SpecifierSet(f">={SETUPTOOLS_FLOOR}")


def test_finding_11_this_environment_was_installed_from_the_lock() -> None:
    """What `make test` (and `make run`, from its own lock) installs is exactly what is locked."""
    for name, (pinned, marker, _) in entries(LOCKS["test"]).items():
        if marker is not None and not marker.evaluate():
            continue
        try:
            installed = version(name)
        except PackageNotFoundError:
            pytest.fail(f"{name}=={pinned} is locked but not installed")
        assert Version(installed) == Version(pinned), f"{name} {installed} is installed, {pinned} is locked"


def test_finding_11_both_readme_commands_install_from_the_lock_by_hash() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for lock in ("$(LOCK)", "$(TEST_LOCK)"):
        assert f"pip install --quiet --require-hashes -r {lock}" in makefile
    assert makefile.count("pip install --quiet --no-deps --no-build-isolation -e .") == 2
    assert not re.search(r"pip install (?!.*(--require-hashes|--no-deps))", makefile), "an install outside the lock"
    assert "\nlock:" in makefile
    readme = (ROOT / "README.md").read_text()
    assert "make lock" in readme
