"""The build switch MCTRT_CUDA=AUTO|ON|OFF: ON fails loudly without nvcc, OFF builds a package
without the CUDA module that still imports and says why it has no CUDA.
"""

import os
import shutil
import site
import subprocess
import sys
import zipfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CMAKE = shutil.which("cmake")
needs_cmake = pytest.mark.skipif(CMAKE is None, reason="needs cmake on PATH")


def configure(build_dir: Path, *defines: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CMAKE, "-S", str(ROOT), "-B", str(build_dir), *defines], capture_output=True, text=True,
                          env=env, timeout=300)


@needs_cmake
def test_cuda_on_without_a_compiler_fails_saying_how_to_fix(tmp_path):
    path = os.pathsep.join(p for p in {str(Path(CMAKE).parent), "/usr/bin", "/bin"})
    if shutil.which("nvcc", path=path):
        pytest.skip("nvcc is in a system folder here; cannot hide it")
    env = {k: v for k, v in os.environ.items() if k not in ("CUDACXX", "CUDA_PATH", "CUDAToolkit_ROOT")}
    env["PATH"] = path
    result = configure(tmp_path, "-DMCTRT_CUDA=ON", env=env)
    assert result.returncode != 0
    assert "MCTRT_CUDA=ON but no CUDA compiler was found" in result.stderr
    assert "put nvcc on PATH" in result.stderr.replace("\n  ", " ")


@needs_cmake
def test_an_unknown_cuda_setting_is_rejected(tmp_path):
    result = configure(tmp_path, "-DMCTRT_CUDA=maybe")
    assert result.returncode != 0
    assert "MCTRT_CUDA must be AUTO, ON or OFF; got 'maybe'" in result.stderr


@pytest.mark.slow
@needs_cmake
def test_a_build_without_cuda_imports_and_says_why(tmp_path):
    env = {**os.environ, "MCTRT_CUDA": "OFF"}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path / "dist"),
         f"--config-settings=build-dir={tmp_path / 'build'}"],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("mctrt-*.whl")
    modules = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(tuple(EXTENSION_SUFFIXES))]
    assert [Path(n).name.split(".")[0] for n in modules] == ["_core"]
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    # -S: site-packages without their .pth files, so that an editable install of the project (a
    # developer's) cannot put its own package before the wheel's
    probe = subprocess.run(
        [sys.executable, "-S", "-c", f"import sys; sys.path += {site.getsitepackages()!r}; from mctrt import _native; "
         "s = _native.cuda_status(); print(s.compiled, '|', s.reason, '|', _native.__file__)"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}, cwd=tmp_path,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith("False | this build has no CUDA module"), probe.stdout
    assert probe.stdout.rstrip().endswith(str(tmp_path / "site" / "mctrt" / "_native.py")), probe.stdout


@pytest.mark.skipif(sys.platform != "linux" or shutil.which("nm") is None, reason="needs Linux and binutils' nm")
def test_the_installed_modules_export_their_entry_point_alone():
    # A module that exports more lends its symbols to every module loaded after it: built by a g++ that
    # links libstdc++ statically, it gave torch and onnxruntime its locale ids, and they crashed on import.
    from mctrt import _native

    modules = [_native.core] + ([_native.cuda] if _native.cuda is not None else [])
    for module in modules:
        listing = subprocess.run(["nm", "-D", "--defined-only", module.__file__], capture_output=True, text=True,
                                 timeout=60, check=True)
        exported = sorted(line.split()[-1] for line in listing.stdout.splitlines() if line.strip())
        assert exported == [f"PyInit_{module.__name__.rsplit('.', 1)[-1]}"], (module.__file__, exported[:10])
