"""The first pass of verify (tests/verify.yml), called as verify calls it,
runs each host's tests in one process of its own (xdist's loadgroup, one
group per host): two processes never work on the same host at once."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = """all:
  children:
    omero_web_nodes:
      hosts:
        one:
        two:
"""
TESTS = """import os

import pytest

pytestmark = pytest.mark.group("omero_web_nodes")


@pytest.mark.parametrize("round", range(3))
def test_a_host(node, round):
    print("RAN", os.environ["PYTEST_XDIST_WORKER"], node.name)


def test_every_host(nodes):
    print("ALONE", os.environ.get("PYTEST_XDIST_WORKER"))
"""


def run_probe(tmp_path, tests: str, *options: str) -> subprocess.CompletedProcess:
    """pytest on ``tests`` with tests/infra's conftest and a two-host inventory."""
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    (tmp_path / "test_probe.py").write_text(tests)
    # Beside the tests, as in tests/infra: pytest loads it while it reads the
    # options; the modules it imports from where they are.
    shutil.copy(ROOT / "tests/infra/conftest.py", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "--rootdir", str(tmp_path),
         f"--inventory={tmp_path / 'hosts.yml'}", str(tmp_path), *options],
        capture_output=True, text=True, timeout=120,
        env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(ROOT / "tests/infra")},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_each_hosts_tests_run_in_one_process(tmp_path):
    options = ("-m", "(not cluster) and not alone", "--dist", "loadgroup", "--numprocesses", "2")
    result = run_probe(tmp_path, TESTS, *options)
    # -rA prints what each test printed.
    ran = [line.split()[1:] for line in result.stdout.splitlines() if line.startswith("RAN ")]
    assert len(ran) == 6, result.stdout
    workers = {host: {worker for worker, name in ran if name == host} for host in ("one", "two")}
    assert all(len(seen) == 1 for seen in workers.values()), workers
    assert "ALONE" not in result.stdout


ORDERED = """import pytest


@pytest.mark.reboot
def test_a_restart(nodes):
    print("ORDER restart")


@pytest.mark.leaves_a_change
def test_a_change_left(nodes):
    print("ORDER change")


def test_another(nodes):
    print("ORDER other")
"""


def test_what_leaves_a_change_runs_after_the_others_and_before_the_restarts(tmp_path):
    result = run_probe(tmp_path, ORDERED, "-m", "alone")
    order = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("ORDER ")]
    assert order == ["other", "change", "restart"], result.stdout
