"""The packaging checks of tox's ``package`` and ``sdist`` envs.

``python .ci/package.py build OUTDIR``: ``python -m build`` (sdist, then the wheel
built from it) into OUTDIR, failing on any warning in the build's output; the wheel
holds ``flask_events`` alone; ``twine check --strict`` on both.

``python .ci/package.py sdist-suite WORKDIR [PYTEST ARGS]``: builds the sdist into
WORKDIR, unpacks it there, installs it (``pip install 'DIR[test]'``, a wheel built
from the sdist's own tree) into this Python, and runs the sdist's own test suite from
the unpacked folder.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT) -> str:
    """Run ``args`` and return its output (stdout and stderr), echoed; exit on failure."""
    print("$", " ".join(args), flush=True)
    result = subprocess.run(
        args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    print(result.stdout, flush=True)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(args)}")
    return result.stdout


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def build(outdir: Path) -> None:
    dist = fresh(outdir / "dist")
    log = run(sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT))
    warnings = [line for line in log.splitlines() if re.search(r"warn", line, re.I)]
    if warnings:
        sys.exit("the build warned:\n" + "\n".join(warnings))
    (wheel,) = dist.glob("*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    extra = {top for top in tops if top != "flask_events" and not top.endswith(".dist-info")}
    if extra:
        sys.exit(f"the wheel holds more than flask_events: {sorted(extra)}")
    run(sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir()))


def sdist_suite(workdir: Path, pytest_args: list[str]) -> None:
    dist = fresh(workdir / "dist")
    run(sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), str(ROOT))
    (sdist,) = dist.glob("*.tar.gz")
    unpacked = fresh(workdir / "unpacked")
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(unpacked, filter="data")
        else:  # a Python without the extraction filters: our own sdist, trusted
            archive.extractall(unpacked)
    (source,) = unpacked.iterdir()
    run(sys.executable, "-m", "pip", "install", "-q", f"{source}[test]")
    print("$ cd", source, flush=True)
    status = subprocess.call([sys.executable, "-m", "pytest", *pytest_args], cwd=source)
    sys.exit(status)


def main(argv: list[str]) -> None:
    command, folder, *rest = argv
    if command == "build":
        build(Path(folder))
    elif command == "sdist-suite":
        sdist_suite(Path(folder), rest)
    else:
        sys.exit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
