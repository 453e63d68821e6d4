"""The record of what a role last applied (roles/applied_state): the module
run as Ansible runs it, on files of a temporary folder, and the inputs'
fingerprint."""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles/applied_state"
PLUGINS = ROLE.parents[1] / "plugins"
MODULE = PLUGINS / "modules/applied_state.py"
LOOKUP = PLUGINS / "lookup/applied_state_inputs.py"
spec = importlib.util.spec_from_file_location("applied_state_inputs", LOOKUP)
inputs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(inputs)


@pytest.fixture
def managed(tmp_path):
    """A role's files: a config, a link, and a folder of drop-ins."""
    (tmp_path / "site.conf").write_text("listen 80;\n")
    (tmp_path / "venv-1").mkdir()
    (tmp_path / "venv").symlink_to(tmp_path / "venv-1")
    (tmp_path / "drop-ins").mkdir()
    (tmp_path / "drop-ins/a.conf").write_text("a\n")
    return tmp_path


def run(tmp_path, state="compared", check_mode=False, role_inputs="one", checks=(), **args):
    arguments = {
        "name": "example",
        "inputs": role_inputs,
        "files": [str(tmp_path / "site.conf"), str(tmp_path / "venv"), str(tmp_path / "drop-ins/*")],
        "checks": list(checks),
        "directory": str(tmp_path / "records"),
        "state": state,
        "_ansible_check_mode": check_mode,
        **args,
    }
    (tmp_path / "args.json").write_text(json.dumps({"ANSIBLE_MODULE_ARGS": arguments}))
    argv = [sys.executable, str(MODULE), str(tmp_path / "args.json")]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    result = json.loads(done.stdout)
    assert not result.get("failed"), result
    assert result["changed"] is False
    return result


def test_without_a_record_the_role_runs(managed):
    result = run(managed)
    assert not result["unchanged"]
    assert result["differences"] == ["no record of an earlier run"]


def test_a_host_as_recorded_with_the_same_inputs_is_unchanged(managed):
    run(managed, "recorded")
    assert run(managed)["unchanged"]
    record = managed / "records/example.json"
    assert record.stat().st_mode & 0o777 == 0o600
    assert (managed / "records").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: (d / "site.conf").write_text("listen 8080;\n"), "site.conf"),
        (lambda d: (d / "site.conf").chmod(0o600), "site.conf"),
        (lambda d: (d / "site.conf").unlink(), "site.conf"),
        (lambda d: ((d / "venv").unlink(), (d / "venv").symlink_to(d / "drop-ins")), "venv"),
        (lambda d: (d / "drop-ins/b.conf").write_text("b\n"), "drop-ins/*"),
        (lambda d: (d / "drop-ins/a.conf").write_text("changed\n"), "drop-ins/a.conf"),
    ],
    ids=["content", "mode", "removed", "link", "new file", "file of a glob"],
)
def test_a_file_changed_by_hand_is_named_and_the_record_dropped(managed, change, named):
    run(managed, "recorded")
    change(managed)
    result = run(managed)
    assert not result["unchanged"]
    assert any(key.endswith(named) for key in result["differences"]), result["differences"]
    # A host that differs once runs the role fully until it records again.
    assert not (managed / "records/example.json").exists()


def test_other_inputs_make_the_role_run(managed):
    run(managed, "recorded")
    assert run(managed, role_inputs="two")["differences"] == ["the role's inputs"]


def test_check_mode_changes_nothing(managed):
    run(managed, "recorded", check_mode=True)
    assert not (managed / "records").exists()
    run(managed, "recorded")
    (managed / "site.conf").write_text("edited\n")
    assert not run(managed, check_mode=True)["unchanged"]
    assert (managed / "records/example.json").exists()


def test_a_check_that_is_not_as_expected_always_counts(managed):
    fresh = [{"argv": ["echo", "fresh"], "expect": "fresh"}]
    stale = [{"argv": ["echo", "stale"], "expect": "fresh"}]
    run(managed, "recorded", checks=fresh)
    assert run(managed, checks=fresh)["unchanged"]
    # Stale when recorded and stale now: still a reason to run the role.
    run(managed, "recorded", checks=stale)
    assert not run(managed, checks=stale)["unchanged"]


def test_a_check_without_expectation_counts_when_its_output_changes(managed):
    run(managed, "recorded", checks=[{"argv": ["echo", "table one"]}])
    assert run(managed, checks=[{"argv": ["echo", "table one"]}])["unchanged"]
    run(managed, "recorded", checks=[{"argv": ["echo", "table one"]}])
    assert not run(managed, checks=[{"argv": ["echo", "flushed"]}])["unchanged"]


def test_a_missing_certificate_counts(managed):
    certificate = str(managed / "certificate.pem")
    run(managed, "recorded", certificates=[certificate])
    assert not run(managed, certificates=[certificate])["unchanged"]


def test_the_code_fingerprint_follows_every_file(tmp_path):
    (tmp_path / "role/tasks").mkdir(parents=True)
    (tmp_path / "role/tasks/main.yml").write_text("---\n")
    before = inputs.code_hash([str(tmp_path)])
    (tmp_path / "role/tasks/main.yml").write_text("--- # edited\n")
    inputs._code_hashes.clear()
    assert inputs.code_hash([str(tmp_path)]) != before


def test_the_settings_are_the_variables_the_roles_read_declare():
    names = inputs.declared_names(str(ROLE.parent), ["omero_web", "nginx"])
    for name in ["omero_web_version", "omero_web_config", "nginx_server_names"]:
        assert name in names
    assert "redis_password" not in names


ROLES = ROLE.parent
COMPARING = sorted(
    p.parent.parent.name for p in ROLES.glob("*/tasks/main.yml") if "applied_state_reads" in p.read_text()
)


def compare_task(role: str) -> tuple[dict, list[str]]:
    """The role's include of compare.yml, and the task files its main.yml
    includes before it (its variable checks, which run whatever the record says)."""
    main = yaml.safe_load((ROLES / role / "tasks/main.yml").read_text())
    index = next(
        i
        for i, task in enumerate(main)
        if task.get("ansible.builtin.include_role", {}).get("tasks_from") == "compare.yml"
    )
    before = [
        task["ansible.builtin.include_tasks"]
        for task in main[:index]
        if "ansible.builtin.include_tasks" in task
    ]
    return main[index], before


def role_code(
    role: str, folders=("tasks", "templates", "vars", "defaults", "handlers", "files"), leave=()
) -> str:
    """The role's code, not the comments of its YAML files."""
    return "\n".join(
        re.sub(r"(^|\s)#.*$", "", path.read_text(), flags=re.M) if path.suffix == ".yml" else path.read_text()
        for folder in folders
        for path in (ROLES / role / folder).rglob("*")
        if path.is_file() and path.relative_to(ROLES / role).as_posix() not in leave
    )


@pytest.mark.parametrize("role", COMPARING)
def test_each_role_names_every_role_whose_variables_it_reads(role):
    """A variable of another role that a role reads without naming that role
    in applied_state_reads would not count among its inputs: a change to it
    would leave the role's steps skipped."""
    compare, _ = compare_task(role)
    reads = {role, "applied_state", *compare["vars"]["applied_state_reads"]}
    others = sorted({p.name for p in ROLES.iterdir() if p.is_dir()} - reads)
    code = role_code(role)
    for other in others:
        for name in inputs.declared_names(str(ROLES), [other]):
            assert not re.search(rf"\b{name}\b", code), (
                f"{role} reads {name}: add {other} to its applied_state_reads"
            )


# What roles publish for other hosts (their tasks/publish.yml), and other
# hosts' addresses as a role reads them (gathered, or the addresses lookup).
PUBLISHED = sorted(
    {
        name
        for path in ROLES.glob("*/tasks/publish.yml")
        for task in yaml.safe_load(path.read_text())
        for name in task.get("ansible.builtin.set_fact", {})
    }
    | {"'default_ipv4'", "appliance.addresses"}
)


def test_the_published_values_are_found():
    assert {"omero_web_endpoint", "redis_endpoint", "nginx_site"} <= set(PUBLISHED)


@pytest.mark.parametrize("role", COMPARING)
def test_each_role_names_a_derived_variable_for_what_other_hosts_published(role):
    """Other hosts count among a role's inputs only through their inventory
    settings and the derived variables the role names: a published value its
    steps read outside them would leave the steps skipped when it changes.
    Its defaults are settings (they count), and the checks before the
    comparison and its own publishing do not depend on the record."""
    compare, before = compare_task(role)
    derived = compare["vars"].get("applied_state_derived", [])
    definitions = yaml.safe_load((ROLES / role / "vars/main.yml").read_text()) or {}
    covered = " ".join(str(definitions[name]) for name in derived)
    leave = {"tasks/main.yml", "tasks/publish.yml", *(f"tasks/{name}" for name in before)}
    code = role_code(role, folders=("tasks", "templates", "vars", "handlers", "files"), leave=leave)
    for name in PUBLISHED:
        if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", code):
            assert name in covered, f"{role} reads {name}: name a variable of it in applied_state_derived"


def test_values_are_compared_whatever_their_order():
    assert inputs.plain({"b": 1, "a": [{"d": 2, "c": 3}]}) == inputs.plain({"a": [{"c": 3, "d": 2}], "b": 1})
    assert json.dumps(inputs.plain({"b": 1, "a": 2})) == '{"a": 2, "b": 1}'


def fingerprint(tmp_path, a: dict, b: dict, limit=("-l", "a"), derived=()) -> str:
    """Host a's inputs for omero_web, the lookup run by Ansible on two local
    hosts with the given inventory variables. Each host publishes an
    endpoint first, as the roles' publish.yml do, and `seen` holds b's."""
    interpreter = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = {"all": {"hosts": {"a": {**interpreter, **a}, "b": {**interpreter, **b}}}}
    (tmp_path / "inventory.yml").write_text(json.dumps(inventory))
    playbook = [
        {
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {
                    "ansible.builtin.set_fact": {
                        "omero_web_endpoint": {"port": "{{ 4080 if inventory_hostname == 'a' else 4090 }}"}
                    }
                },
                {
                    "ansible.builtin.include_role": {"name": "applied_state", "tasks_from": "compare.yml"},
                    "vars": {
                        "applied_state_role": "omero_web",
                        "applied_state_reads": ["nginx", "apache", "firewall"],
                        "applied_state_derived": list(derived),
                        "applied_state_dir": str(tmp_path / "records"),
                        "seen": "{{ hostvars['b'].omero_web_endpoint.port }}",
                    },
                },
                {
                    "ansible.builtin.debug": {
                        "msg": "inputs of {{ inventory_hostname }} {{ applied_state_seen.omero_web.inputs }}"
                    }
                },
            ],
        }
    ]
    (tmp_path / "playbook.yml").write_text(json.dumps(playbook))
    argv = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        "-i",
        "inventory.yml",
        "playbook.yml",
        *limit,
    ]
    environment = {
        **os.environ,
        "ANSIBLE_ROLES_PATH": str(ROLES),
        "ANSIBLE_COLLECTIONS_PATH": str(ROLES.parent / "collections"),
        "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"),
    }
    run = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, env=environment, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return re.search(r"inputs of a ([0-9a-f]{64})", run.stdout).group(1)


def test_another_hosts_setting_that_the_role_reads_is_an_input(tmp_path):
    """The web nodes read the front ends' server names (allowed hosts, CSRF
    origins): a front end's own value counts on a web node."""
    before = fingerprint(tmp_path, {}, {"nginx_server_names": ["omero.example.org"]})
    assert fingerprint(tmp_path, {}, {"nginx_server_names": ["omero.example.org"]}) == before
    assert fingerprint(tmp_path, {}, {"nginx_server_names": ["images.example.org"]}) != before


def test_a_setting_of_a_role_it_does_not_read_is_no_input(tmp_path):
    before = fingerprint(tmp_path, {"redis_maxmemory": "64mb"}, {})
    assert fingerprint(tmp_path, {"redis_maxmemory": "128mb"}, {}) == before
    assert fingerprint(tmp_path, {"omero_web_workers": 3}, {}) != before


def test_a_limited_run_has_the_inputs_of_a_full_one(tmp_path):
    """What a host outside the --limit would publish is no input unless the
    role reads it: a limited run after a full one skips the untouched roles."""
    assert fingerprint(tmp_path, {}, {}, limit=()) == fingerprint(tmp_path, {}, {})


def test_a_value_another_host_published_counts_through_the_derived_variables(tmp_path):
    full = fingerprint(tmp_path, {}, {}, limit=(), derived=["seen"])
    assert fingerprint(tmp_path, {}, {}, limit=(), derived=["seen"]) == full
    # Under a limit without b, `seen` cannot be templated: another input.
    assert fingerprint(tmp_path, {}, {}, derived=["seen"]) != full
