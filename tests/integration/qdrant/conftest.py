"""Fixtures for the Qdrant tests: stand-in nodes (tests/qdrant_standin), started per test."""
import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parents[2]
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from qdrant_standin.harness import StandinNode, start_cluster  # noqa: E402



def _find_spec() -> Path | None:
    """Qdrant's openapi.json: $QDRANT_OPENAPI, else shared/qdrant/ beside an ancestor of the repo."""
    if os.environ.get("QDRANT_OPENAPI"):
        return Path(os.environ["QDRANT_OPENAPI"])
    for d in TESTS_DIR.parents:
        p = d / "shared" / "qdrant" / "openapi.json"
        if p.exists():
            return p
    return None


SPEC_PATH = _find_spec()


@pytest.fixture
def standin(tmp_path):
    """Starts nodes on demand: standin(**kw) -> StandinNode; all are stopped after the test."""
    started = []

    def start(**kw):
        node = StandinNode(tmp_path / f"qdrant{len(started)}", **kw)
        started.append(node)
        return node

    yield start
    for n in started:
        n.stop()


@pytest.fixture
def cluster(tmp_path):
    started = []

    def start(n=3, **kw):
        nodes = start_cluster(tmp_path / f"cluster{len(started)}", n, **kw)
        started.extend(nodes)
        return nodes

    yield start
    for n in started:
        n.stop()
