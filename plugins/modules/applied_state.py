#!/usr/bin/python
# GPL-2.0-or-later
"""What a role last applied to this host, and whether the host still shows it.

A role records, once its tasks and handlers have run, the fingerprint of its
inputs (computed on the controller) and a digest of what it manages here: its
files (content, mode, owner; a link's target), its units (enabled, active)
and the output of read-only checks. The next run compares both: when nothing
differs, the role has nothing to do and its steps are skipped.
"""

import glob
import hashlib
import json
import os
import subprocess

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: applied_state
short_description: Compare the host with what a role last applied, or record it
description:
  - C(state=compared) says whether the record of I(name) holds I(inputs) and
    the host still shows the recorded files, units, checks and certificates.
    A record that differs is removed (outside check mode), so a run stopped
    half-way is finished by the next.
  - C(state=recorded) writes the record (skipped in check mode).
  - Both are bookkeeping of the appliance and never report a change.
options:
  name: {type: str, required: true, description: The role.}
  inputs: {type: str, required: true, description: Fingerprint of the role's inputs.}
  files: {type: list, elements: str, default: [], description: Paths or glob patterns the role manages.}
  units:
    {type: list, elements: str, default: [], description: systemd units the role keeps enabled and running.}
  checks:
    type: list
    elements: dict
    default: []
    description:
      - Read-only commands, each {argv, expect}; with expect, any other output
        is a difference; without, a change of exit status or output is.
  certificates:
    type: list
    elements: path
    default: []
    description: Certificates that must stay valid for renew_days.
  renew_days:
    type: int
    default: 30
    description: Days of validity under which a certificate counts as due for renewal.
  directory: {type: path, required: true, description: Where the records are kept (root only).}
  state: {type: str, choices: [compared, recorded], default: compared, description: Compare or record.}
"""


def file_item(path):
    """What a path holds: a link's target, a directory's mode and owner, a
    file's content hash too; 'missing' when there is nothing."""
    try:
        stat = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    if os.path.islink(path):
        return "link " + os.readlink(path)
    kind = "dir" if os.path.isdir(path) else "file"
    item = f"{kind} {stat.st_mode:o} {stat.st_uid}:{stat.st_gid}"
    if kind == "file":
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        item += " " + digest.hexdigest()
    return item


def files_items(patterns):
    items = {}
    for pattern in patterns:
        if glob.has_magic(pattern):
            for path in sorted(glob.glob(pattern)):
                items["file " + path] = file_item(path)
            items["glob " + pattern] = " ".join(sorted(glob.glob(pattern)))
        else:
            items["file " + pattern] = file_item(pattern)
    return items


def units_items(module, units):
    items = {}
    for query, wanted in (("is-enabled", "enabled"), ("is-active", "active")):
        if not units:
            break
        # One call per query: systemctl prints a line per unit, in order.
        _, out, _ = module.run_command(["systemctl", query, *units])
        lines = out.splitlines() + ["unknown"] * len(units)
        for unit, line in zip(units, lines, strict=False):
            items[f"unit {unit} {query}"] = (line.strip(), wanted)
    return items


def checks_items(checks):
    """Each check: argv, and the output it must give (expect), or none when
    only a change of its output counts."""
    items = {}
    for check in checks:
        argv = [str(arg) for arg in check["argv"]]
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
            if check.get("expect") is not None:
                found = run.stdout.strip() if run.returncode == 0 else f"exit {run.returncode}"
            else:
                found = f"{run.returncode} {hashlib.sha256(run.stdout.encode()).hexdigest()}"
        except (OSError, subprocess.TimeoutExpired) as error:
            found = type(error).__name__
        items["check " + " ".join(argv)] = (found, check.get("expect"))
    return items


def certificates_items(paths, days):
    """Whether each certificate stays valid for the days a renewal leaves."""
    items = {}
    for path in paths:
        if not os.path.exists(path):
            found = "missing"
        else:
            argv = ["openssl", "x509", "-noout", "-checkend", str(days * 86400), "-in", path]
            try:
                run = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
                found = "valid" if run.returncode == 0 else "expiring"
            except (OSError, subprocess.TimeoutExpired) as error:
                found = type(error).__name__
        items[f"certificate {path} for {days} days"] = (found, "valid")
    return items


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "inputs": {"type": "str", "required": True},
            "files": {"type": "list", "elements": "str", "default": []},
            "units": {"type": "list", "elements": "str", "default": []},
            "checks": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "argv": {"type": "list", "elements": "str", "required": True},
                    "expect": {"type": "str"},
                },
            },
            "certificates": {"type": "list", "elements": "path", "default": []},
            "renew_days": {"type": "int", "default": 30},
            "directory": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["compared", "recorded"], "default": "compared"},
        },
        supports_check_mode=True,
    )
    params = module.params
    record_path = os.path.join(params["directory"], params["name"] + ".json")
    # Files are compared with the record; units, checks with an expected
    # result and certificates also with what they must be: a unit that is
    # down counts as a difference even when it was down at the record.
    found = {
        **units_items(module, params["units"]),
        **checks_items(params["checks"]),
        **certificates_items(params["certificates"], params["renew_days"]),
    }
    items = {**files_items(params["files"]), **{key: value for key, (value, _) in found.items()}}
    unexpected = sorted(key for key, (value, wanted) in found.items() if wanted not in (None, value))

    if params["state"] == "recorded":
        if not module.check_mode:
            os.makedirs(params["directory"], mode=0o700, exist_ok=True)
            os.chmod(params["directory"], 0o700)
            temporary = record_path + ".new"
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump({"inputs": params["inputs"], "items": items}, handle, indent=1, sort_keys=True)
            os.replace(temporary, record_path)
        module.exit_json(changed=False, recorded=not module.check_mode)

    try:
        with open(record_path) as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        record = None
    if record is None:
        differences = ["no record of an earlier run"]
    else:
        differences = [] if record.get("inputs") == params["inputs"] else ["the role's inputs"]
        recorded = record.get("items", {})
        keys = recorded.keys() | items.keys()
        differences += sorted(key for key in keys if recorded.get(key) != items.get(key))
    differences += [key for key in unexpected if key not in differences]
    if differences and record is not None and not module.check_mode:
        os.remove(record_path)
    module.exit_json(
        changed=False, unchanged=not differences, differences=differences, inputs=params["inputs"]
    )


if __name__ == "__main__":
    main()
