"""Every command of ours explains itself: `manage.py <command> --help` must not crash."""

import pytest
from django.core.management import get_commands, load_command_class

OURS = sorted(
    (app, name) for name, app in get_commands().items() if app in {"portal", "contractors"}
)


@pytest.mark.parametrize(("app", "name"), OURS, ids=[name for _, name in OURS])
def test_help_is_readable(app, name):
    text = load_command_class(app, name).create_parser("manage.py", name).format_help()
    assert name in text


def test_the_commands_of_the_contract_exist():
    names = {name for _, name in OURS}
    assert {"seed_demo", "import_firms", "mark_overdue"} <= names
