"""Builds feblam._core by driving CMake; CMakeLists.txt is the single description of the build."""

import os
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        target = Path(self.get_ext_fullpath(ext.name)).resolve()
        build_dir = Path(self.build_temp).resolve() / "cmake"
        build_dir.mkdir(parents=True, exist_ok=True)
        import pybind11

        config = os.environ.get("FEBLAM_BUILD_TYPE", "Release")
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build_dir),
            f"-DCMAKE_BUILD_TYPE={config}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            f"-DFEBLAM_OUTPUT_DIR={target.parent}",
            "-DFEBLAM_TESTS=OFF",
        ]
        if os.environ.get("FEBLAM_WERROR"):
            configure.append("-DFEBLAM_WERROR=ON")
        subprocess.run(configure, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_core", "-j", jobs], check=True)
        if not target.exists():
            raise RuntimeError(f"CMake did not produce {target}")


setup(ext_modules=[CMakeExtension("feblam._core")], cmdclass={"build_ext": CMakeBuild})
