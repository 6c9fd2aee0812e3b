"""A non-editable install (a wheel) carries the templates and static files."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.conftest import REPO_ROOT


def test_wheel_contains_templates_and_static(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO_ROOT),
        ],
        check=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("hht-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "webapp/templates/base.html",
        "webapp/templates/installer/run.html",
        "webapp/static/css/hht.css",
        "webapp/static/js/run.js",
        "webapp/static/vendor/socket.io.min.js",
        "webapp/gbcs/data/message-codes.csv",
        "webapp/cli/__init__.py",
    ):
        assert required in names, required
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "hht = webapp.cli:run" in zipfile.ZipFile(wheel).read(entry_points).decode()
