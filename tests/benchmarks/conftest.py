"""The tiny benchmark run whose results the section tests read.

`python -m experiments.benchmark --tiny --jit on` with every section and the
profiles runs once per session (a few minutes). No timing is asserted: the
machine running the tests is shared; the tests check that every field is
produced. The steps are timed XLA-compiled only: the graph path without XLA is the same
code with `jit_compile=False` (`--jit off`, `tests/benchmarks/test_run.py`), and XLA is
the path with code of its own (its compilation, its profile's op names); each XLA setting
more doubles the run's minutes.
"""

import json

import pytest

from experiments import benchmark
from tests.experiments.conftest import tiny_imdb_dir  # noqa: F401 (the soak and chaos runs')


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """`(returned results, folder)`: the folder holds `b.json`, `b.md` and
    the profiles under `profile/`."""
    folder = tmp_path_factory.mktemp("benchmark")
    returned = benchmark.main(
        [
            "--tiny",
            "--jit",
            "on",
            "--json",
            str(folder / "b.json"),
            "--markdown",
            str(folder / "b.md"),
            "--profile",
            str(folder / "profile"),
            "--quiet",
        ]
    )
    return returned, folder


@pytest.fixture(scope="session")
def tiny_results(tiny_run):
    """The results as `b.json` holds them."""
    _, folder = tiny_run
    return json.loads((folder / "b.json").read_text())


def pytest_collection_modifyitems(items):
    """Under pytest-xdist's `--dist loadgroup`, every test that reads the tiny run goes to one
    worker, so that the run happens once."""
    for item in items:
        if "tiny_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("tiny_benchmark"))
