"""The collection users install (galaxy.yml, scripts/build-collection.sh):
built, installed into an empty collections path, and a playbook of a
site's own that calls the roles by their full names loads from it alone."""

import hashlib
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())


def source_hash() -> str:
    """What names the appliance's wheel, computed here on its own: sha256sum
    of each source file, in C-locale order, hashed again."""
    source = ROOT / "omeroweb"
    sources = [p for p in (source / "src").rglob("*") if p.suffix in {".py", ".toml"}]
    found = [p.relative_to(source).as_posix() for p in sources]
    files = sorted([*found, "pyproject.toml"], key=lambda name: name.encode())
    listing = "".join(f"{hashlib.sha256((source / f).read_bytes()).hexdigest()}  {f}\n" for f in files)
    return hashlib.sha256(listing.encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    output = tmp_path_factory.mktemp("collection")
    subprocess.run(
        [str(ROOT / "scripts/build-collection.sh"), str(output)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    (archive,) = output.glob("*.tar.gz")
    return archive


def test_the_collection_ships_the_roles_their_docs_and_the_package_as_a_wheel(built):
    assert built.name == f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
    with tarfile.open(built) as archive:
        names = set(archive.getnames())
    roles = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())
    for role in roles:
        assert f"roles/{role}/README.md" in names, role
        assert f"roles/{role}/meta/argument_specs.yml" in names, role
    assert {"LICENSE", "CHANGELOG.md", "README.md", "site.yml", "playbooks/preflight.yml"} <= names
    wheels = [n for n in names if n.endswith(".whl")]
    assert len(wheels) == 1 and wheels[0].startswith("roles/omero_web/files/appliance/"), wheels
    with tarfile.open(built) as archive:
        build_id = archive.extractfile("roles/omero_web/files/appliance/build-id").read().decode()
    assert build_id == source_hash() + "\n"
    # Nothing a user does not run: the package's source, tests, scenarios.
    assert not [n for n in names if n.split("/")[0] in {"omeroweb", "tests", "molecule", "bench", ".venv"}]


def test_a_playbook_of_its_own_loads_the_roles_from_the_installed_collection_alone(tmp_path):
    """Installed as the split scenario installs it (scripts/install-collection.sh)."""
    collections = tmp_path / "collections"
    environment = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_ROLES_PATH": str(tmp_path / "no-roles"),
        "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"),
    }

    def run(command: str, *args) -> subprocess.CompletedProcess:
        argv = [str(BIN / command), *map(str, args)]
        return subprocess.run(argv, capture_output=True, text=True, env=environment, cwd=tmp_path)

    installed = subprocess.run(
        [str(ROOT / "scripts/install-collection.sh"), str(collections)],
        capture_output=True,
        text=True,
        env={**environment, "PYTHON": sys.executable},
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    playbook = ROOT / "tests/collection/site.yml"
    loaded = run("ansible-playbook", "-i", "localhost,", "--syntax-check", playbook)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    listed = run("ansible-galaxy", "collection", "list", "-p", str(collections))
    assert f"{GALAXY['namespace']}.{GALAXY['name']} {GALAXY['version']}" in " ".join(listed.stdout.split())
