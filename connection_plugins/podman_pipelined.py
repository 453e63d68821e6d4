"""Podman connection with pipelining, for the appliance's test and demo hosts.

containers.podman.podman runs `podman exec` without stdin, so Ansible cannot
pipeline and needs four `podman exec` calls per task (make a temp dir, chmod,
run, clean up). With stdin attached (`podman exec -i`) one call does: the
module arrives on stdin. Everything else is the collection's plugin.
"""

from __future__ import annotations

DOCUMENTATION = """
name: podman_pipelined
author: OMERO.web appliance
short_description: Run tasks in a running Podman container, with pipelining
description:
  - The containers.podman.podman connection with stdin attached to C(podman exec),
    so Ansible pipelines modules instead of copying each one into the container.
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
  podman_executable:
    description: The podman command.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
"""

import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection import ConnectionBase, ensure_connect
from ansible_collections.containers.podman.plugins.connection.podman import (
    Connection as PodmanConnection,
)


class Connection(PodmanConnection):
    transport = "podman_pipelined"
    has_pipelining = True

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        if in_data is None:
            return super().exec_command(cmd, in_data=None, sudoable=sudoable)
        # As the parent does, with -i so the pipelined module reaches the shell.
        ConnectionBase.exec_command(self, cmd, in_data=in_data, sudoable=sudoable)
        args = ["exec", "-i"]
        if self.user:
            args.extend(("--user", self.user))
        return self._podman(args, shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)
