# The kcs pytest plugin, and a skip for every test here when no CUDA GPU is present (CI has none).
import pytest

pytest_plugins = ["kcs.pytest_plugin"]


def _gpu():
    try:
        import torch
        import triton  # noqa: F401

        return torch.cuda.is_available()
    except ImportError:
        return False


def pytest_collection_modifyitems(config, items):
    if _gpu():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU with torch and triton")
    for it in items:
        it.add_marker(skip)
