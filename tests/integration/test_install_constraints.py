"""`make install` installs pinned versions (constraints.txt) with pip's progress visible, and the pins cover
and satisfy everything tradebot[dev,research] and the plugins' [test] extras need, transitively."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import tradebot

REPO = Path(tradebot.__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints.txt"
PROJECTS = [
    (REPO / "pyproject.toml", "dev,research"),  # research: Ray, for `tradebot research sweep`
    *((p, "test") for p in sorted(REPO.glob("plugins/*/pyproject.toml"))),
]


def pins(path: Path = CONSTRAINTS) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line (names canonical); anything else is refused."""
    out: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        req = Requirement(text)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", (
            f"{path.name}:{number}: not name==version: {text}"
        )
        name = canonicalize_name(req.name)
        assert name not in out, f"{path.name}:{number}: {req.name} pinned twice"
        out[name] = specs[0].version
    return out


def root_requirements() -> list[tuple[str, Requirement]]:
    """What each pyproject.toml asks for: its dependencies and its dev/test extra (our own dists left out)."""
    ours = {canonicalize_name(tomllib.loads(p.read_text())["project"]["name"]) for p, _ in PROJECTS}
    found = []
    for path, extra in PROJECTS:
        project = tomllib.loads(path.read_text())["project"]
        for text in [
            *project.get("dependencies", []),
            *(r for e in extra.split(",") for r in project.get("optional-dependencies", {}).get(e, [])),
        ]:
            req = Requirement(text)
            if canonicalize_name(req.name) not in ours:
                found.append((str(path.relative_to(REPO)), req))
    return found


def closure() -> list[tuple[str, Requirement]]:
    """Every (who asks, requirement) reached from the pyproject files through installed metadata."""
    seen: set[tuple[str, frozenset[str]]] = set()
    edges = []
    stack = root_requirements()
    while stack:
        who, req = stack.pop()
        edges.append((who, req))
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            continue  # reported by the test: required but not installed
        for text in dist.requires or []:
            child = Requirement(text)
            env_extras = req.extras or {""}
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in env_extras):
                stack.append((f"{dist.metadata['Name']} {dist.version}", child))
    return edges


def test_every_required_package_is_pinned_to_a_version_that_satisfies_every_asker() -> None:
    pinned = pins()
    problems = []
    for who, req in closure():
        name = canonicalize_name(req.name)
        if name not in pinned:
            problems.append(f"{req.name} (asked by {who}) is not pinned")
        elif not req.specifier.contains(pinned[name], prereleases=True):
            problems.append(f"{req.name}=={pinned[name]} does not satisfy {who}: {req}")
        else:
            try:
                distribution(req.name)
            except PackageNotFoundError:
                problems.append(f"{req.name} (asked by {who}) is not installed: run `make install`")
    assert not problems, "refresh constraints.txt with `make constraints`:\n" + "\n".join(
        sorted(set(problems))
    )


def test_the_pins_are_what_this_venv_runs() -> None:
    """The tests that pass here ran on the pinned versions (a package upgraded by hand shows up)."""
    pinned = pins()
    differ = []
    for who, req in closure():
        name = canonicalize_name(req.name)
        try:
            version = distribution(req.name).version
        except PackageNotFoundError:
            continue
        if name in pinned and version != pinned[name]:
            differ.append(f"{req.name}: installed {version}, pinned {pinned[name]} (asked by {who})")
    assert not differ, "run `make install` (or `make constraints` to move the pins):\n" + "\n".join(
        sorted(set(differ))
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [("requests>=2", "not name==version"), ("requests==2.0\nRequests==2.1", "pinned twice")],
)
def test_the_pin_reader_refuses_loose_or_duplicate_lines(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "constraints.txt"
    path.write_text(f"# header\n{line}\n")
    with pytest.raises(AssertionError, match=problem):
        pins(path)


def test_make_install_uses_the_constraints_and_shows_pips_progress(tmp_path: Path) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed here")
    venv = tmp_path / "venv"  # a venv that does not exist: make prints the whole install recipe
    done = subprocess.run(
        [make, "-n", "install", f"VENV={venv}"], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert done.returncode == 0, done.stderr
    installs = [line for line in done.stdout.splitlines() if "pip install" in line]
    assert installs and not [line for line in installs if "--quiet" in line or " -q " in line], installs
    editable = [line for line in installs if " -e " in line]
    assert len(editable) == 1 and "-c constraints.txt" in editable[0], installs
    for path, extra in PROJECTS:
        where = "." if path.parent == REPO else str(path.parent.relative_to(REPO))
        assert f"-e '{where}[{extra}]'" in editable[0], editable[0]
