"""Whole-process figures: one ``hht parse FILE`` from start to exit.

An installer or a back-office script runs ``hht parse`` on one message at a time, so what
counts there is the whole process: interpreter start, imports, reading the file, checking
the signature and printing. Each command runs ``ONE_FILE_RUNS`` times; the figures are the
minimum, median and maximum wall-clock time in milliseconds.

When ``HHT_REFERENCE_PARSER`` points at a built copy of the DCC's TypeScript gbcs-parser
(see :mod:`webapp.bench.reference`), the same file goes through it the same way, one
``node`` process per run, with a key store that reads the signer's public certificate from
the same RTDS keystore on demand, as ``hht parse --certs`` does.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from webapp.bench.reference import REFERENCE_ENV
from webapp.bench.rtds import KEYSTORE, SHARED_RTDS

ONE_FILE_RUNS = 21
PROCESS_TIMEOUT_SECONDS = 60
#: A signed response with a DLMS payload: header, signature check and payload all run.
ONE_FILE = "1.2.1_ECS01b/ECS01b_1.2.1_IMMEDIATE_BLOCK_SUCCESS_RESPONSE_GBCS.HEX"

ONE_FILE_DRIVER = r"""
const fs = require('fs'); const path = require('path'); const crypto = require('crypto');
const [parserDir, file, keystore] = process.argv.slice(2);
const { parseGbcsMessage } = require(path.resolve(parserDir));
const keyStore = async (eui, type, options) => {
  if (options && options.privateKey) throw new Error('no private keys');
  const hex = (typeof eui === 'string' ? eui : Buffer.from(eui).toString('hex'))
    .replace(/-/g, '').toLowerCase();
  return crypto.createPublicKey(
    fs.readFileSync(path.join(keystore, `${hex}-${type.toLowerCase()}.pem`)));
};
parseGbcsMessage(fs.readFileSync(file, 'utf8').trim(), keyStore)
  .then((tree) => { process.stdout.write(JSON.stringify(tree) + '\n'); })
  .catch((e) => { process.stdout.write(`error: ${e.message}\n`); });
"""


def _one_file() -> Path | None:
    chosen = SHARED_RTDS / ONE_FILE
    if chosen.is_file():
        return chosen
    files = sorted(SHARED_RTDS.rglob("*.HEX")) if SHARED_RTDS.is_dir() else []
    return files[0] if files else None


def time_process(argv: list[str], runs: int = ONE_FILE_RUNS) -> dict[str, Any]:
    """Wall-clock milliseconds of ``argv`` as a whole process, over ``runs`` runs."""
    times = [_run_once(argv) for _ in range(runs)]
    return {
        "runs": runs,
        "min_ms": min(times),
        "median_ms": statistics.median(times),
        "max_ms": max(times),
    }


def _run_once(argv: list[str]) -> float:
    """Milliseconds from starting ``argv`` to its exit; CalledProcessError when it fails.

    The wait blocks in ``waitpid``, which returns as the process exits. (``subprocess``'s
    wait with a timeout polls instead, sleeping up to 50 ms between looks, which rounded a
    120 ms run up to 163 ms.) A timer kills a run that hangs.
    """
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watchdog = threading.Timer(PROCESS_TIMEOUT_SECONDS, process.kill)
    watchdog.start()
    try:
        status = process.wait()
    finally:
        watchdog.cancel()
    elapsed = (time.perf_counter() - started) * 1000
    if status != 0:
        raise subprocess.CalledProcessError(status, argv)
    return elapsed


def one_file_parse_figures(runs: int = ONE_FILE_RUNS) -> dict[str, Any]:
    """``hht parse --certs KEYSTORE FILE`` as a whole process, beside the reference's."""
    file = _one_file()
    if file is None:
        return {"skipped": "../shared/rtds is not here"}
    hht = Path(sys.executable).with_name("hht")
    figures: dict[str, Any] = {"file": file.name}
    figures["hht"] = time_process([str(hht), "parse", "--certs", str(KEYSTORE), str(file)], runs)
    parser_dir = os.environ.get(REFERENCE_ENV)
    node = shutil.which("node")
    if not parser_dir:
        figures["reference"] = {"skipped": f"set {REFERENCE_ENV} to compare with the reference"}
    elif node is None:
        figures["reference"] = {"skipped": "node is not installed"}
    else:
        with tempfile.TemporaryDirectory() as tmp:
            driver = Path(tmp) / "one_file.js"
            driver.write_text(ONE_FILE_DRIVER)
            figures["reference"] = time_process(
                [node, str(driver), parser_dir, str(file), str(KEYSTORE)], runs
            )
        figures["hht_over_reference"] = (
            figures["hht"]["median_ms"] / figures["reference"]["median_ms"]
        )
    return figures
