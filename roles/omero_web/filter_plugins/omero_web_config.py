"""Filters that build OMERO.web's one config from the inventory."""

from __future__ import annotations

import json


def _as_list(value, key):
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if not isinstance(value, list):
        raise ValueError(f"{key} is not a list, so nothing can be appended to it: {value!r}")
    return value


def omero_web_append(config, appends, defaults):
    """``config`` with the entries of ``appends`` added to each list property.

    Like ``omero config append``, but a property the inventory does not set
    starts from OMERO.web's own default (``defaults``), so appending to
    omero.web.middleware keeps Django's middleware. Entries already present
    are not added twice, so the result does not grow from run to run.
    """
    result = dict(config)
    for key, entries in (appends or {}).items():
        base = result[key] if key in result else defaults.get(key, [])
        merged = list(_as_list(base, key))
        for entry in _as_list(entries, key):
            if entry not in merged:
                merged.append(entry)
        result[key] = merged
    return result


def omero_web_property(value):
    """A property's value as the omero CLI stores it: strings as they are,
    everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def omero_web_server_list(servers):
    """omero.web.server_list from [{host, port, name}]: port 4064 and the
    host as name unless given."""
    return [[s["host"], int(s.get("port", 4064)), s.get("name", s["host"])] for s in servers]


class FilterModule:
    def filters(self):
        return {
            "omero_web_append": omero_web_append,
            "omero_web_property": omero_web_property,
            "omero_web_server_list": omero_web_server_list,
        }
