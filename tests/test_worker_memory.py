"""What each gunicorn worker changes in how it holds memory (server/gunicorn_app.py)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# Allocates a block the size of a large request body three times in a fresh interpreter and
# prints the pages each allocation faulted in.
_BLOCKS = """
import resource, sys
from server.gunicorn_app import keep_large_blocks
if sys.argv[1] == "kept":
    keep_large_blocks()
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    before = faults()
    block = bytearray(20_000_000)
    del block
    print(faults() - before)
"""


def _faults(mode: str) -> list[int]:
    done = subprocess.run(
        [sys.executable, "-c", _BLOCKS, mode], capture_output=True, text=True, check=True
    )
    return [int(line) for line in done.stdout.split()]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="sets glibc's malloc parameters")
def test_a_worker_reuses_the_pages_of_a_freed_request_sized_block() -> None:
    kept, default = _faults("kept"), _faults("default")
    # 20 MB is some 4,900 pages. glibc on its own maps the block anew, then takes it from the
    # heap afresh once more, before it keeps it; a worker keeps it from the first time.
    assert default[1] > 4000, default
    assert kept[0] > 4000 and kept[1] < 500 and kept[2] < 500, kept


def test_a_worker_collects_young_garbage_after_fifty_thousand_new_objects() -> None:
    code = (
        "import gc; from server.gunicorn_app import collect_less_often;"
        "older = gc.get_threshold()[1:]; collect_less_often();"
        "print(gc.get_threshold() == (50_000, *older))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
