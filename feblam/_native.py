"""Loads the compiled core and says how to build it when it is missing."""

try:
    from feblam import _core as core
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "feblam._core, FEBLAM's compiled matching core, is not built. "
        "Install the package with `pip install .` (or `pip install -e .` for development) "
        "from the repository root; it needs a C++17 compiler, CMake and SQLite's headers."
    ) from exc

__all__ = ["core"]
