"""The README's two commands on a bare machine: where node and npm are missing, the Makefile
installs them like the browser packages (root with apt), and otherwise stops at once with one
line that says what to install.

The machine is made bare by PATH: a folder holding only what such a machine has (a shell, Python,
make) and stand-ins for `id` and `apt-get` that say what the Makefile asked of them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
MESSAGE = (
    "meetsvc needs node and npm: install them (on Debian or Ubuntu: sudo apt-get install nodejs npm), "
    "then run make again"
)

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def bare_machine(folder: Path, *, uid: int, apt: bool = False) -> Path:
    """A PATH folder with a shell, Python and make, no node or npm, and `id -u` answering ``uid``.
    With ``apt``, an `apt-get` that logs its arguments and, asked to install, 'installs' node
    and npm (stand-ins that only say their name)."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    for name, target in (("sh", "/bin/sh"), ("python3", sys.executable), ("make", MAKE)):
        (bin_dir / name).symlink_to(target)
    script(bin_dir / "id", f"echo {uid}")
    if apt:
        script(
            bin_dir / "apt-get",
            f'echo "$*" >> {folder}/apt.log\n'
            'case "$1" in install)\n'
            f"  printf '#!/bin/sh\\necho node\\n' > {bin_dir}/node; printf '#!/bin/sh\\necho npm\\n' > {bin_dir}/npm\n"
            f"  /bin/chmod +x {bin_dir}/node {bin_dir}/npm;;\n"
            "esac",
        )
    return bin_dir


def script(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def fresh_clone(folder: Path) -> Path:
    """What `make` reads of a fresh clone: the Makefile and the files its rules depend on."""
    tree = folder / "clone"
    tree.mkdir()
    for name in ("Makefile", "package.json", "package-lock.json", "pyproject.toml"):
        shutil.copy(ROOT / name, tree / name)
    return tree


def make(tree: Path, bin_dir: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "make"), "--no-print-directory", "-C", str(tree), *targets],
        env={"PATH": str(bin_dir), "HOME": str(tree)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("target", ["run", "test"])
def test_without_node_make_stops_at_once_saying_what_to_install(tmp_path, target):
    bin_dir = bare_machine(tmp_path, uid=1000)
    tree = fresh_clone(tmp_path)
    result = make(tree, bin_dir, target)
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert ours == [MESSAGE], result.stderr
    assert "command not found" not in result.stderr + result.stdout
    # At once: before the Python environment is made, or anything else is done.
    assert result.stdout == ""
    assert sorted(p.name for p in tree.iterdir()) == ["Makefile", "package-lock.json", "package.json", "pyproject.toml"]


def test_without_node_the_check_alone_says_what_to_install(tmp_path):
    bin_dir = bare_machine(tmp_path, uid=1000)
    result = make(ROOT, bin_dir, "node")
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == MESSAGE


def test_root_without_apt_is_told_the_same(tmp_path):
    bin_dir = bare_machine(tmp_path, uid=0)
    result = make(ROOT, bin_dir, "node")
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == MESSAGE


def test_root_with_apt_gets_node_and_npm_installed(tmp_path):
    bin_dir = bare_machine(tmp_path, uid=0, apt=True)
    result = make(ROOT, bin_dir, "node")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "apt.log").read_text().splitlines() == ["update -qq", "install -y -qq nodejs npm"]
    assert MESSAGE not in result.stderr


def test_with_node_present_the_check_asks_nothing(tmp_path):
    bin_dir = bare_machine(tmp_path, uid=0, apt=True)
    script(bin_dir / "node", "echo node")
    script(bin_dir / "npm", "echo npm")
    result = make(ROOT, bin_dir, "node")
    assert result.returncode == 0 and result.stderr == ""
    assert not (tmp_path / "apt.log").exists()


VENV_MESSAGE = (
    "meetsvc needs Python's venv module: install it (on Debian or Ubuntu: sudo apt-get install python3-venv), "
    "then run make again"
)


def test_without_python_venv_make_stops_at_once_saying_what_to_install(tmp_path):
    """Debian's and Ubuntu's Python comes without its venv module until python3-venv is installed."""
    bin_dir = bare_machine(tmp_path, uid=1000)
    script(bin_dir / "node", "echo node")
    script(bin_dir / "npm", "echo npm")
    (bin_dir / "python3").unlink()
    script(
        bin_dir / "python3",
        f'case "$*" in *ensurepip*) echo "No module named ensurepip" >&2; exit 1;; esac\nexec {sys.executable} "$@"',
    )
    tree = fresh_clone(tmp_path)
    result = make(tree, bin_dir, ".venv/bin/python")
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert ours == [VENV_MESSAGE], result.stderr
    assert not (tree / ".venv").exists()
