"""Test order for pytest-xdist (`-n auto --dist loadfile`, pyproject): the longest files start first.

The tiny end-to-end run (test_workflow.py, ~8 minutes on 2 cores) and the SLURM end-to-end run (test_cluster.py,
mostly waiting on the scheduler) go to the workers before anything else, so every other file runs beside them
instead of after them. Within a file the order is pytest's own.
"""

FIRST = ("test_workflow.py", "test_cluster.py")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        name = item.path.name
        return FIRST.index(name) if name in FIRST else len(FIRST)

    items.sort(key=rank)  # stable: files and tests keep their order otherwise
