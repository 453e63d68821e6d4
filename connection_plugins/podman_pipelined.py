"""Podman connection with pipelining, for the appliance's test and demo hosts.

containers.podman.podman runs `podman exec` without stdin, so Ansible cannot
pipeline and needs four `podman exec` calls per task (make a temp dir, chmod,
run, clean up); and each call makes the container runtime set up a process
in the container, which costs far more than the task itself on a loaded
machine. As root, this one asks Podman for the container's first process
(`podman inspect`, which calls no runtime) and runs each command in that
process's namespaces, with its environment (nsenter): one cheap call a task,
the module on its stdin. As another user it is the collection's plugin with
stdin attached (`podman exec -i`). tests/infra/topology.py runs the tests'
commands the same way (`entered`).
"""

from __future__ import annotations

DOCUMENTATION = """
name: podman_pipelined
author: OMERO.web appliance
short_description: Run tasks in a running Podman container, with pipelining
description:
  - As root, runs each command in the namespaces of the container's first
    process (nsenter) with its environment, the pipelined module on stdin,
    and moves files through the same; as another user, the
    containers.podman.podman connection with stdin attached to C(podman exec).
options:
  remote_addr:
    description: Name or ID of the container.
    default: inventory_hostname
    vars:
      - name: ansible_host
      - name: inventory_hostname
      - name: ansible_podman_host
  remote_user:
    description: User that runs the commands in the container.
    ini:
      - section: defaults
        key: remote_user
    env:
      - name: ANSIBLE_REMOTE_USER
    vars:
      - name: ansible_user
  podman_extra_args:
    description: Extra arguments for the podman command.
    default: ''
    vars:
      - name: ansible_podman_extra_args
    env:
      - name: ANSIBLE_PODMAN_EXTRA_ARGS
  pipelining:
    description:
      - Send each module on stdin in one call. On by default, whatever the
        configuration file says (Molecule writes its own, with pipelining
        for SSH alone).
    type: boolean
    default: true
    ini:
      - section: connection
        key: pipelining
    env:
      - name: ANSIBLE_PIPELINING
    vars:
      - name: ansible_pipelining
  podman_executable:
    description: The podman command.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
"""

import os
import shlex
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ConnectionBase, ensure_connect
from ansible_collections.containers.podman.plugins.connection.podman import (
    Connection as PodmanConnection,
)


def container_pid(name: str, podman: str = "podman") -> int:
    """The host's PID of the container's first process; 0 when it does not run."""
    inspected = subprocess.run(
        [podman, "inspect", "--type", "container", "--format", "{{.State.Pid}}", name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    answer = inspected.stdout.strip()
    return int(answer) if inspected.returncode == 0 and answer.isdigit() else 0


def entered(pid: int, argv: list) -> list:
    """argv run in the namespaces, root and environment of process pid, as
    `podman exec` runs it in its container."""
    with open(f"/proc/{pid}/environ", "rb") as handle:
        environment = [item for item in handle.read().split(b"\0") if item]
    namespaces = ["--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--root", "--wd"]
    return ["nsenter", f"--target={pid}", *namespaces, "--", "/usr/bin/env", "-i", *environment, *argv]


def entering(user: str | None) -> bool:
    """Whether commands as ``user`` enter the container (root, on a rootful
    controller) rather than go through `podman exec`."""
    return user in (None, "", "root") and os.geteuid() == 0


def run_entered(name: str, argv: list, stdin: bytes = b"", podman: str = "podman"):
    """argv run in container ``name`` (a CompletedProcess), or None when it does not run."""
    pid = container_pid(name, podman)
    if not pid:
        return None
    return subprocess.run(entered(pid, argv), input=stdin, capture_output=True, check=False)


class Connection(PodmanConnection):
    transport = "podman_pipelined"
    has_pipelining = True

    def _entering(self) -> bool:
        return entering(self.user)

    def _connect(self):
        if not self._entering():
            return super()._connect()
        ConnectionBase._connect(self)
        self._connected = True
        return self

    def _enter(self, argv: list, in_data: bytes | None = None) -> tuple[int, bytes, bytes]:
        try:
            run = run_entered(self._container_id, argv, in_data or b"", self.get_option("podman_executable"))
        except OSError as error:
            raise AnsibleConnectionFailure(f"cannot enter container {self._container_id}: {error}") from error
        if run is None:
            raise AnsibleConnectionFailure(f"container {self._container_id} is not running")
        return run.returncode, run.stdout, run.stderr

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        ConnectionBase.exec_command(self, cmd, in_data=in_data, sudoable=sudoable)
        argv = shlex.split(to_native(cmd, errors="surrogate_or_strict"))
        if self._entering():
            return self._enter(argv, in_data)
        # As the parent does, with -i so the pipelined module reaches the shell.
        args = ["exec", "-i"] + (["--user", self.user] if self.user else [])
        return self._podman(args, argv, in_data)

    # Files go through a shell in the container, so its own symlinks resolve
    # inside it (a path under /proc/PID/root could lead out of it).
    def put_file(self, in_path, out_path):
        if not self._entering():
            return super().put_file(in_path, out_path)
        ConnectionBase.put_file(self, in_path, out_path)
        with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as handle:
            data = handle.read()
        rc, _, stderr = self._enter(["/bin/sh", "-c", 'cat > "$1"', "sh", out_path], data)
        if rc != 0:
            failed = to_native(stderr)
            raise AnsibleError(f"Failed to copy {in_path} to {out_path} in {self._container_id}: {failed}")
        return None

    def fetch_file(self, in_path, out_path):
        if not self._entering():
            return super().fetch_file(in_path, out_path)
        ConnectionBase.fetch_file(self, in_path, out_path)
        rc, stdout, stderr = self._enter(["/bin/cat", in_path])
        if rc != 0:
            raise AnsibleError(f"Failed to fetch {in_path} from {self._container_id}: {to_native(stderr)}")
        with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as handle:
            handle.write(stdout)
        return None
