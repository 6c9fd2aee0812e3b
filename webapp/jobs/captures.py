"""Each job's radio capture: every frame of every connection made for it, kept beside it.

A connection for a job opens a new part, ``<captures>/<job>/<NNN>.pcapng``, and the radio
writes each frame into it until the connection ends; a pulled plug leaves the part
readable up to its last frame.  The parts of a job merge into one pcapng for download.
Capturing never stops a job: a capture that cannot be written is logged and skipped.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from webapp.files import private_dir
from webapp.zigbee.capture import Capture, CaptureError, merge_captures
from webapp.zigbee.drivers.base import RadioDriver

log = logging.getLogger(__name__)

PART_SUFFIX = ".pcapng"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")


def _folder_name(job_id: str) -> str:
    """A file-system-safe name for ``job_id`` (ids from work packs are untrusted text)."""
    if _SAFE_NAME.match(job_id):
        return job_id
    return "job-" + hashlib.sha256(job_id.encode()).hexdigest()[:24]


class JobCaptures:
    """The captures of every job, under ``directory`` (None: nothing is captured)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._open: Capture | None = None

    def parts(self, job_id: str) -> list[Path]:
        """The job's capture parts, oldest first."""
        if self.directory is None:
            return []
        folder = self.directory / _folder_name(job_id)
        return sorted(folder.glob("*" + PART_SUFFIX)) if folder.is_dir() else []

    def begin(self, driver: RadioDriver, job_id: str, what: str) -> Path | None:
        """Start a new part for ``job_id`` and have ``driver`` record into it."""
        self.end(driver)
        if self.directory is None:
            return None
        folder = self.directory / _folder_name(job_id)
        number = len(self.parts(job_id)) + 1
        path = folder / f"{number:03d}{PART_SUFFIX}"
        try:
            private_dir(folder)
            capture = Capture.open(path, description=f"HHT job {job_id}: {what}")
        except (CaptureError, OSError) as exc:
            log.warning("job %s runs without a radio capture: %s", job_id, exc)
            return None
        driver.record_to(capture)
        self._open = capture
        return path

    def end(self, driver: RadioDriver) -> None:
        """Stop recording (nothing to do when no part is open)."""
        capture, self._open = self._open, None
        if capture is None:
            return
        driver.record_to(None)
        capture.close()

    def merge(self, job_id: str, out: Path, *, since: int = 0) -> int:
        """Write the job's parts (from part number ``since`` on) into one capture ``out``;
        the number of frames.  LookupError when the job has no capture."""
        parts = self.parts(job_id)[since:]
        if not parts:
            raise LookupError(f"job {job_id} has no radio capture")
        return merge_captures(parts, out, description=f"HHT job {job_id}")
