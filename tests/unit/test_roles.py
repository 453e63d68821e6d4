"""Static checks of the roles: what the docs promise is what the code does."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())


def load(path: Path):
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_documented_with_the_same_value(role):
    defaults = load(ROOT / "roles" / role / "defaults" / "main.yml")
    spec = load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]
    options = spec["options"]
    assert sorted(defaults) == sorted(options), f"{role}: defaults/main.yml and the spec name other variables"
    for name, value in defaults.items():
        # A secret's default stays in defaults/main.yml alone: a failed
        # validation prints the whole spec.
        expected = None if options[name].get("no_log") else value
        assert options[name].get("default") == expected, f"{role}: {name} differs"
        assert options[name].get("description"), f"{role}: {name} has no description"


SECRET = re.compile(r"password|secret|redis_url|sentinel")


@pytest.mark.parametrize("role", ROLES)
def test_secrets_are_marked_no_log_and_their_defaults_stay_out_of_the_spec(role):
    defaults = load(ROOT / "roles" / role / "defaults" / "main.yml")
    options = load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, option in options.items():
        makes_one = "ansible.builtin.password" in str(defaults.get(name, ""))
        if makes_one or (SECRET.search(name) and option.get("type") in ("str", "dict")):
            assert option.get("no_log") is True, f"{role}: {name} holds a secret: no_log: true"
            assert "default" not in option, f"{role}: {name}: a failed validation prints the spec"


@pytest.mark.parametrize("role", ROLES)
def test_variables_carry_the_role_name(role):
    defaults = load(ROOT / "roles" / role / "defaults" / "main.yml")
    assert all(name.startswith(f"{role}_") for name in defaults)


@pytest.mark.parametrize("role", ROLES)
def test_templates_say_they_are_managed(role):
    for template in (ROOT / "roles" / role / "templates").glob("*.j2"):
        assert "ansible_managed" in template.read_text(), template


def test_site_has_one_play_per_host_group():
    plays = load(ROOT / "site.yml")
    imported = [p["ansible.builtin.import_playbook"] for p in plays]
    assert imported == [
        "playbooks/preflight.yml",
        "playbooks/session_stores.yml",
        "playbooks/omero_web_nodes.yml",
        "playbooks/frontends.yml",
        "playbooks/apache_frontends.yml",
        "playbooks/firewall.yml",
    ]
    for path in imported:
        assert (ROOT / path).exists()


def test_the_readme_variable_tables_are_current():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/variables-table.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


# The files each role writes, by the paths that only it may name.
OWN_PATHS = {
    "omero_web": [".collected-from", "omero-web-state"],
    "nginx": ["/etc/nginx"],
    "apache": ["/etc/apache2"],
    "redis": ["/etc/redis"],
    "firewall": ["/etc/nftables", "inet appliance"],
}


@pytest.mark.parametrize("owner", sorted(OWN_PATHS))
def test_no_role_edits_another_roles_files(owner):
    """A role reaches another's files only through that role's entry points
    (e.g. nginx's tasks_from: upstream.yml for a rolling change)."""
    for role in ROLES:
        if role in (owner, "applied_state"):
            continue
        for path in (ROOT / "roles" / role).glob("*/*"):
            if path.suffix not in (".yml", ".j2", ".py") or path.parent.name == "defaults":
                continue
            for own in OWN_PATHS[owner]:
                assert own not in path.read_text(), f"{path.relative_to(ROOT)} names {owner}'s {own}"
