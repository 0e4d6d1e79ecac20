"""docs/architecture.md stays true: every file, folder and module it names exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "architecture.md"
# A path in backticks: a folder ending in /, or a file with an extension.
NAMED_PATH = re.compile(r"`([\w./-]+(?:/|\.\w+))`")


def named_paths(text):
    return sorted({path for path in NAMED_PATH.findall(text) if "/" in path})


def test_every_path_the_architecture_page_names_exists():
    missing = [path for path in named_paths(PAGE.read_text()) if not (ROOT / path).exists()]
    assert missing == []


def test_the_page_names_the_modules_of_each_layer():
    paths = named_paths(PAGE.read_text())
    for app in ("config/", "demo/", "reporting/", "documents/", "contractors/", "portal/"):
        assert app in paths
    assert len(paths) > 40


def test_a_renamed_module_would_be_caught():
    text = "the view (`contractors/inspections/views.py`) and `contractors/gone.py`, `x.py`"
    assert named_paths(text) == ["contractors/gone.py", "contractors/inspections/views.py"]
