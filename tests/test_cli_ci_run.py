""".ci/run on a fresh Debian: which system packages it asks apt-get for.

The script runs from a scratch copy of the repository layout (``.ci/run`` beside a stub
``./dev``), with stub ``id``, ``apt-get``, ``python3``, ``chromium`` and ``fc-list`` first on
PATH, so nothing is installed and the suite is not run again.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO


def stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def run_ci(tmp_path: Path, *, ensurepip: bool) -> tuple[list[str], str]:
    """Run a copy of .ci/run; return the apt-get calls and what ./dev was called with."""
    root = tmp_path / "repo"
    (root / ".ci").mkdir(parents=True)
    shutil.copy(REPO / ".ci" / "run", root / ".ci" / "run")
    log = tmp_path / "calls.log"
    stub(root, "dev", f'echo "dev $*" >> {log}')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "id", 'if [ "$1" = -u ]; then echo 0; else exec /usr/bin/id "$@"; fi')
    stub(bin_dir, "apt-get", f'echo "apt-get $*" >> {log}')
    stub(bin_dir, "chromium", "exit 0")
    stub(bin_dir, "fc-list", "echo /usr/share/fonts/DejaVuSans.ttf: DejaVu Sans")
    if ensurepip:
        stub(bin_dir, "python3", "exit 0")
    else:  # Debian without python3-venv: `import ensurepip` fails
        stub(bin_dir, "python3", 'case "$*" in *ensurepip*) exit 1;; esac; exit 0')
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    result = subprocess.run(
        ["bash", str(root / ".ci" / "run")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    return [c for c in calls if c.startswith("apt-get")], next(
        c for c in calls if c.startswith("dev")
    )


@pytest.mark.skipif(not Path("/usr/bin/id").exists(), reason="needs a POSIX userland")
def test_installs_python3_venv_when_ensurepip_is_missing(tmp_path: Path) -> None:
    apt, dev = run_ci(tmp_path, ensurepip=False)
    [install] = [call for call in apt if call.startswith("apt-get install")] or [""]
    assert {"python3", "python3-venv"} <= set(install.split()), apt
    assert apt[0] == "apt-get update -qq"
    assert dev == "dev test"


@pytest.mark.skipif(not Path("/usr/bin/id").exists(), reason="needs a POSIX userland")
def test_leaves_python_alone_when_venv_works(tmp_path: Path) -> None:
    apt, dev = run_ci(tmp_path, ensurepip=True)
    assert not any("python3-venv" in call for call in apt)
    assert dev == "dev test"
