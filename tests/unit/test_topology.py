"""The one topology model (plugins/module_utils/topology.py): what each
inventory the appliance supports makes of each host, as the roles (through
the topology lookup, run here by Ansible), the playbooks and the tests'
helpers read it."""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("topology", ROOT / "plugins/module_utils/topology.py")
model = importlib.util.module_from_spec(spec)
spec.loader.exec_module(model)
topology = model.topology

ALL_IN_ONE = {"omero_web_nodes": ["a", "b"], "frontends": ["a", "b"], "session_stores": ["a", "b"]}
SPLIT = {"frontends": ["front"], "omero_web_nodes": ["web"], "session_stores": ["web"]}
CLUSTER = {"frontends": ["lb"], "omero_web_nodes": ["n1", "n2"], "session_stores": ["redis"]}
APACHE = {
    "frontends": ["proxy"],
    "apache_frontends": ["proxy"],
    "omero_web_nodes": ["web"],
    "session_stores": ["web"],
}


def test_all_in_one_hosts_each_serve_themselves():
    a = topology(ALL_IN_ONE, "a")
    assert a["session_store"] == "a" and a["store_clients"] == []
    assert a["frontends_of_node"] == ["a"] and a["nodes_of_frontend"] == ["a"]
    assert a["remote_frontends"] == [] and a["drain_frontends"] == []
    assert a["rolling_batch"] == "100%" and not a["behind_apache"]
    assert topology(ALL_IN_ONE, "b")["session_store"] == "b"


def test_split_a_front_end_of_its_own_reaches_the_node_and_the_node_keeps_its_store():
    web, front = topology(SPLIT, "web"), topology(SPLIT, "front")
    assert web["frontends_of_node"] == ["front"] and web["remote_frontends"] == ["front"]
    assert web["session_store"] == "web" and web["store_clients"] == []
    # One node: nothing to send its requests to while it restarts.
    assert web["drain_frontends"] == [] and web["rolling_batch"] == 1
    assert front["nodes_of_frontend"] == ["web"] and front["frontends_of_node"] == ["front"]


def test_cluster_nodes_share_the_first_store_and_roll_one_at_a_time():
    n1, redis, lb = topology(CLUSTER, "n1"), topology(CLUSTER, "redis"), topology(CLUSTER, "lb")
    assert n1["session_store"] == "redis" and n1["drain_frontends"] == ["lb"] and n1["rolling_batch"] == 1
    assert redis["store_clients"] == ["n1", "n2"]
    assert lb["nodes_of_frontend"] == ["n1", "n2"]


def test_a_second_store_serves_no_other_host():
    groups = {**CLUSTER, "session_stores": ["redis", "spare"]}
    assert topology(groups, "spare")["store_clients"] == []
    assert topology(groups, "n2")["session_store"] == "redis"


def test_apache_in_front_of_nginx():
    assert topology(APACHE, "proxy")["behind_apache"]
    assert not topology(APACHE, "web")["behind_apache"]


@pytest.mark.parametrize(
    "groups",
    [{}, {"omero_web_nodes": ["solo"]}, {"omero_web_nodes": None, "frontends": []}],
    ids=["no groups", "a node alone", "empty groups"],
)
def test_odd_inventories_give_empty_answers_not_errors(groups):
    solo = topology(groups, "solo")
    assert solo["session_store"] == "" and solo["frontends_of_node"] == [] and solo["remote_frontends"] == []
    assert solo["rolling_batch"] == "100%"


def test_groups_of_a_sites_own_names():
    groups = {"web": ["n1", "n2"], "edge": ["lb"], "redis": ["r"]}
    names = {"omero_web_nodes": "web", "frontends": "edge", "session_stores": "redis"}
    n1 = topology(groups, "n1", names)
    assert n1["session_store"] == "r" and n1["remote_frontends"] == ["lb"] and n1["drain_frontends"] == ["lb"]
    assert n1["groups"]["apache_frontends"] == "apache_frontends"
    # Today's names no longer count.
    assert topology({**groups, "frontends": ["other"]}, "n1", names)["frontends"] == ["lb"]


@pytest.mark.parametrize(
    ("names", "said"),
    [
        ({"web_nodes": "web"}, "['web_nodes']"),
        ({"frontends": ""}, "['frontends']"),
        ({"frontends": 3}, "['frontends']"),
        ("web", "= 'web': expected a dict"),
        (["web"], "= ['web']: expected a dict"),
    ],
    ids=["unknown group", "empty name", "not a name", "a name, not a dict", "a list"],
)
def test_a_bad_group_name_is_refused_naming_it(names, said):
    with pytest.raises(ValueError, match=re.escape(said)) as error:
        topology({}, "a", names)
    assert "omero_web_appliance_groups" in str(error.value)


def run_lookup(
    tmp_path,
    inventory: dict,
    host: str,
    expression: str = "query('omero_web_appliance.appliance.topology') | first",
    facts: bool = False,
) -> subprocess.CompletedProcess:
    interpreter = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    for group in inventory.get("all", {}).get("children", {}).values():
        for name in group.get("hosts", {}):
            group["hosts"][name] = {**interpreter, **(group["hosts"][name] or {})}
    (tmp_path / "inventory.yml").write_text(json.dumps(inventory))
    play = [
        {
            "hosts": host,
            "gather_facts": facts,
            "gather_subset": ["min", "default_ipv4"],
            "tasks": [
                {
                    "ansible.builtin.debug": {"msg": "topology {{ seen | to_json }}"},
                    "vars": {"seen": "{{ " + expression + " }}"},
                }
            ],
        }
    ]
    (tmp_path / "playbook.yml").write_text(json.dumps(play))
    environment = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "collections"),
        "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"),
    }
    argv = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "inventory.yml", "playbook.yml"]
    return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, env=environment, check=False)


def test_the_lookup_reads_the_inventorys_group_names(tmp_path):
    inventory = {
        "all": {
            "vars": {"omero_web_appliance_groups": {"omero_web_nodes": "web", "frontends": "edge"}},
            "children": {"web": {"hosts": {"n1": {}, "n2": {}}}, "edge": {"hosts": {"lb": {}}}},
        }
    }
    run = run_lookup(tmp_path, inventory, "n1")
    assert run.returncode == 0, run.stdout + run.stderr
    seen = json.loads(re.search(r"topology (\{.*\})", run.stdout.replace('\\"', '"')).group(1))
    assert (
        seen["remote_frontends"] == ["lb"]
        and seen["drain_frontends"] == ["lb"]
        and seen["rolling_batch"] == 1
    )


def test_the_lookup_refuses_a_bad_group_name_naming_the_variable(tmp_path):
    inventory = {
        "all": {
            "vars": {"omero_web_appliance_groups": {"webnodes": "web"}},
            "children": {"web": {"hosts": {"n1": {}}}},
        }
    }
    run = run_lookup(tmp_path, inventory, "n1")
    assert run.returncode != 0
    assert "omero_web_appliance_groups names ['webnodes']" in run.stdout + run.stderr


ADDRESSES = "query('omero_web_appliance.appliance.addresses', 'n1', 'lb')"


def test_a_host_serves_on_its_own_address_where_the_inventory_sets_one(tmp_path):
    """n1's facts are gathered (this machine's default route), lb's are not."""
    inventory = {
        "all": {
            "children": {"omero_web_nodes": {"hosts": {"n1": {}}}, "frontends": {"hosts": {"lb": {}}}},
        }
    }
    run = run_lookup(tmp_path, inventory, "n1", ADDRESSES, facts=True)
    assert run.returncode != 0
    assert "lb has no default IPv4 route and no omero_web_appliance_address" in run.stdout
    inventory["all"]["children"]["frontends"]["hosts"]["lb"] = {"omero_web_appliance_address": "192.0.2.20"}
    run = run_lookup(tmp_path, inventory, "n1", ADDRESSES, facts=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r'topology \["[0-9.]+", "192.0.2.20"\]', run.stdout.replace('\\"', '"')), run.stdout


def test_a_service_address_that_is_no_ip_address_is_refused_naming_the_variable(tmp_path):
    node = {"n1": {"omero_web_appliance_address": "web1"}}
    inventory = {"all": {"children": {"omero_web_nodes": {"hosts": node}}}}
    run = run_lookup(tmp_path, inventory, "n1", "query('omero_web_appliance.appliance.addresses', 'n1')")
    assert run.returncode != 0
    assert "omero_web_appliance_address = 'web1' on n1: expected an IP address of n1" in run.stdout


def test_the_tests_see_a_site_of_its_own_names_as_the_roles_do(tmp_path):
    """tests/infra/topology.py puts each host in the appliance's groups that
    omero_web_appliance_groups maps its own groups to (molecule/split)."""
    sys.path.insert(0, str(ROOT / "tests/infra"))
    import topology as helpers  # noqa: PLC0415

    inventory = {
        "all": {
            "vars": {
                "omero_web_appliance_groups": {
                    "omero_web_nodes": "web",
                    "session_stores": "web",
                    "frontends": "edge",
                }
            },
            "children": {"web": {"hosts": {"n1": None}}, "edge": {"hosts": {"lb": None}}},
        }
    }
    (tmp_path / "inventory.yml").write_text(json.dumps(inventory))
    nodes = {n.name: n for n in helpers.read_inventory(str(tmp_path / "inventory.yml"))}
    assert nodes["n1"].groups >= {"web", "omero_web_nodes", "session_stores"}
    assert "frontends" not in nodes["n1"].groups and nodes["lb"].groups >= {"edge", "frontends"}
    assert [n.name for n in helpers.remote_frontends(list(nodes.values()))] == ["lb"]


STORES3 = {"frontends": ["lb"], "omero_web_nodes": ["n1", "n2"], "session_stores": ["r1", "r2", "r3"]}


def test_three_session_stores_replicate_under_sentinel():
    r2, n1 = topology(STORES3, "r2"), topology(STORES3, "n1")
    assert r2["sentinel"] and n1["sentinel"]
    # Every web node uses every store (their Sentinels), each store its peers.
    assert r2["store_clients"] == ["n1", "n2"] and r2["store_peers"] == ["r1", "r3"]
    assert n1["session_stores_of_node"] == ["r1", "r2", "r3"] and n1["store_peers"] == []
    # Fewer stores: each serves as today.
    assert not topology(CLUSTER, "redis")["sentinel"] and topology(CLUSTER, "n1")[
        "session_stores_of_node"
    ] == ["redis"]


def test_a_store_that_is_a_node_uses_the_others_under_sentinel():
    groups = {
        "frontends": ["a", "b", "c"],
        "omero_web_nodes": ["a", "b", "c"],
        "session_stores": ["a", "b", "c"],
    }
    a = topology(groups, "a")
    assert a["sentinel"] and a["store_clients"] == ["b", "c"] and a["store_peers"] == ["b", "c"]
    assert not topology(groups, "a", sentinel=False)["sentinel"]
    assert topology(groups, "a", sentinel=False)["store_clients"] == []


@pytest.mark.parametrize(
    ("stores", "sentinel", "said"),
    [
        (
            ["r1", "r2"],
            True,
            "omero_web_appliance_sentinel = true with 2 session store(s) (r1, r2): Sentinel needs three",
        ),
        ([], True, "with 0 session store(s) (none)"),
        (["r1", "r2", "r3"], "yes", "omero_web_appliance_sentinel = 'yes': expected true, false or nothing"),
    ],
)
def test_sentinel_asked_for_without_three_stores_is_refused(stores, sentinel, said):
    with pytest.raises(ValueError, match=re.escape(said)):
        topology({**CLUSTER, "session_stores": stores}, "n1", sentinel=sentinel)


TWO_BALANCERS = {**CLUSTER, "frontends": ["lb1", "lb2"]}


def test_a_virtual_address_is_shared_by_the_front_ends_of_their_own():
    lb1, lb2 = (topology(TWO_BALANCERS, h, virtual="10.0.0.20") for h in ("lb1", "lb2"))
    assert lb1["virtual_address"] == lb2["virtual_address"] == "10.0.0.20"
    assert lb1["vrrp_peers"] == ["lb2"] and lb2["vrrp_peers"] == ["lb1"]
    # A node is drained from every front end, and takes part in no VRRP.
    n1 = topology(TWO_BALANCERS, "n1", virtual="10.0.0.20")
    assert n1["drain_frontends"] == ["lb1", "lb2"] and n1["vrrp_peers"] == []
    assert topology(TWO_BALANCERS, "lb1")["virtual_address"] == ""
    assert topology(TWO_BALANCERS, "lb1")["vrrp_peers"] == []


@pytest.mark.parametrize(
    ("groups", "virtual", "said"),
    [
        (
            CLUSTER,
            "10.0.0.20",
            "omero_web_appliance_virtual_address = '10.0.0.20' with 1 front end(s) of their own (lb):"
            " a virtual address moves between two or more",
        ),
        # Front ends that are web nodes too (all-in-one) are no front ends of their own.
        (ALL_IN_ONE, "10.0.0.20", "with 0 front end(s) of their own (none)"),
        (TWO_BALANCERS, "lb.example.org", "= 'lb.example.org': expected an IPv4 address"),
        (TWO_BALANCERS, "2001:db8::20", "= '2001:db8::20': expected an IPv4 address"),
        (TWO_BALANCERS, 20, "= 20: expected an IPv4 address"),
    ],
)
def test_a_virtual_address_without_two_front_ends_or_no_ipv4_is_refused(groups, virtual, said):
    with pytest.raises(ValueError, match=re.escape(said)):
        topology(groups, "n1", virtual=virtual)
