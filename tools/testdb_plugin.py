"""pytest plugin loaded by ./bin/test (-p testdb_plugin).

Touches $FNB_TESTDB_BUILT once pytest-django's django_db_setup fixture has succeeded, so
tools/devenv.py only records the test DB as built (and later passes --reuse-db) after a
build that really happened.
"""

import os
from pathlib import Path

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    result = yield  # re-raises if the fixture failed
    marker = os.environ.get("FNB_TESTDB_BUILT")
    if marker and fixturedef.argname == "django_db_setup":
        Path(marker).touch()
    return result
