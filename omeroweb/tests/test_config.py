import json

import pytest

from omero_web_appliance import config

PARSERS = {
    "omero.web.session_cookie_age": int,
    "omero.web.caches": json.loads,
    "omero.web.prefix": str,
}


def test_read_properties_keeps_values_whole():
    text = '# comment\n\nomero.web.caches={"a": "b=c"}\nomero.web.prefix=/omero\n'
    assert config.read_properties(text) == {
        "omero.web.caches": '{"a": "b=c"}',
        "omero.web.prefix": "/omero",
    }


def test_read_properties_rejects_a_key_set_twice():
    with pytest.raises(ValueError, match="omero.web.prefix is set twice"):
        config.read_properties("omero.web.prefix=/a\nomero.web.prefix=/b\n")


def test_read_properties_rejects_a_line_without_equals():
    with pytest.raises(ValueError, match="line 1: expected key=value"):
        config.read_properties("omero.web.prefix\n")


def test_check_accepts_what_the_parsers_accept():
    assert config.check({"omero.web.session_cookie_age": "86400"}, PARSERS) == []


def test_check_reports_every_problem_at_once_naming_key_and_value():
    problems = config.check(
        {
            "omero.web.session_cookie_age": "a day",
            "omero.web.caches": "{not json",
            "omero.server.host": "x",
        },
        PARSERS,
    )
    text = [str(p) for p in problems]
    assert len(text) == 3
    assert text[0].startswith("omero.web.session_cookie_age = 'a day': OMERO.web rejects it")
    assert text[1].startswith("omero.web.caches = '{not json': OMERO.web rejects it")
    assert "only omero.web.* properties" in text[2]


def test_check_suggests_the_closest_known_key():
    (problem,) = config.check({"omero.web.session_cookie_ag": "1"}, PARSERS)
    assert problem.expected.endswith("did you mean omero.web.session_cookie_age?")


def test_check_rejects_values_the_properties_format_would_change():
    (problem,) = config.check({"omero.web.prefix": "/omero\\"}, PARSERS)
    assert "trailing backslash" in problem.expected


def test_leave_unset_is_not_a_problem():
    class LeaveUnset(Exception):
        pass

    def leave_none_unset(value):
        raise LeaveUnset()

    assert config.check({"omero.web.prefix": "None"}, {"omero.web.prefix": leave_none_unset}) == []
