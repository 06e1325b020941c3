"""Fixtures for the Qdrant tests: stand-in nodes (tests/qdrant_standin), started per test."""
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parents[2]
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from qdrant_standin.harness import StandinNode, start_cluster  # noqa: E402




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
        nodes = start_cluster(tmp_path / f"cluster{len(started)}", n,
                              peer_base=1000 + 10000 * len(started), **kw)
        started.extend(nodes)
        return nodes

    yield start
    for n in started:
        n.stop()
