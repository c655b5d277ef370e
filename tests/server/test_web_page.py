"""The dashboard's ES modules as installed (mctrt/web), read as text: they never copy a list that
Python defines (the page gets the event types and stages from /api/meta), and every module they
import is one of them (the server serves only that folder; no build step resolves anything else)."""

import re

import pytest

from mctrt.events import EVENT_TYPES
from mctrt.metrics import STAGES
from mctrt.server.app import WEB_FILES

MODULES = sorted(WEB_FILES.glob("*.js"))
NAME_LISTS = {"mctrt.events.EVENT_TYPES": set(EVENT_TYPES), "mctrt.metrics.STAGES": set(STAGES)}
BRACKETS = re.compile(r"\[([^\[\]]*)\]")  # innermost [...]: array literals, over several lines too
STRING = re.compile(r"""(["'`])([^"'`\n]*)\1""")
RELATIVE_IMPORT = re.compile(r"""\bfrom\s+["'](\./[^"']+)["']|\bimport\s*\(\s*["'](\./[^"']+)["']""")


def copied_lists(source: str) -> list[str]:
    """'<list>: <names>' for each array literal in source holding two or more names of one Python list."""
    found = []
    for body in BRACKETS.findall(source):
        strings = {text for _, text in STRING.findall(body)}
        for list_name, names in NAME_LISTS.items():
            if len(strings & names) >= 2:
                found.append(f"{list_name}: {', '.join(sorted(strings & names))}")
    return found


def test_the_page_has_its_modules():
    assert {"app.js", "floor.js"} <= {path.name for path in MODULES}, f"{WEB_FILES} lacks the dashboard's modules"


@pytest.mark.parametrize(("source", "copied"), [
    ('export const EVENT_TYPES = ["entry", "exit",\n  "line_cross"];', True),  # the list app.js had, over lines
    ("const rows = ['detect', 'track', 'capture_to_send'];", True),  # stages among other rows
    ('if (msg.type === "events") addEvents(msg.events);', False),  # one name is not a list
    ('const END_TO_END_ROWS = ["capture_to_result", "capture_to_send"];', False),  # Stats fields, no stages
])
def test_a_copied_name_list_is_recognised(source, copied):
    assert bool(copied_lists(source)) == copied


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_no_module_copies_a_list_that_python_defines(module):
    assert copied_lists(module.read_text()) == [], f"{module.name} copies a Python list: get it from /api/meta"


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_every_module_a_module_imports_is_in_the_page_folder(module):
    for match in RELATIVE_IMPORT.finditer(module.read_text()):
        target = match.group(1) or match.group(2)
        assert (WEB_FILES / target).is_file(), f"{module.name} imports {target}, which {WEB_FILES} does not have"
