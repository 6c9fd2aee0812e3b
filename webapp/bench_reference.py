"""Optional: time the DCC's TypeScript gbcs-parser on the same RTDS files, for comparison.

Point ``HHT_REFERENCE_PARSER`` at a built copy of it (the folder holding ``dist/``);
nothing of it is part of this project. Without it the figure is reported as skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from webapp.bench_parse import SHARED_RTDS

REFERENCE_ENV = "HHT_REFERENCE_PARSER"
NODE_TIMEOUT_SECONDS = 300

# Parses every hex string in a JSON list, best of three runs, with a key store that serves
# the public RTDS certificates and refuses private keys (as an HHT would).
DRIVER = """
const fs = require('fs'); const path = require('path'); const crypto = require('crypto');
const [parserDir, listFile, keystore] = process.argv.slice(2);
const { parseGbcsMessage } = require(path.join(parserDir, 'dist', 'parser.js'));
const messages = JSON.parse(fs.readFileSync(listFile, 'utf8'));
const keyStore = async (eui, type, options) => {
  if (options && options.privateKey) throw new Error('no private keys');
  const hex = (typeof eui === 'string' ? eui : Buffer.from(eui).toString('hex'))
    .replace(/-/g, '').toLowerCase();
  const file = path.join(keystore, `${hex}-${type.toLowerCase()}.pem`);
  if (!fs.existsSync(file)) throw new Error('unknown signer');
  return crypto.createPublicKey(fs.readFileSync(file));
};
(async () => {
  let best = Infinity, errors = 0;
  const bytes = messages.reduce((a, h) => a + h.length / 2, 0);
  for (let r = 0; r < 3; r++) {
    errors = 0;
    const t0 = process.hrtime.bigint();
    for (const h of messages) {
      try { await parseGbcsMessage(h, keyStore); } catch (e) { errors++; }
    }
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(JSON.stringify({ messages: messages.length, bytes, seconds: best,
    messages_per_second: messages.length / best, mb_per_second: bytes / best / 1e6, errors }));
})();
"""


def reference_figures() -> dict[str, Any]:
    parser_dir = os.environ.get(REFERENCE_ENV)
    if not parser_dir:
        return {"skipped": f"set {REFERENCE_ENV} to a built copy of the TypeScript gbcs-parser"}
    if shutil.which("node") is None:
        return {"skipped": "node is not installed"}
    if not SHARED_RTDS.is_dir():
        return {"skipped": "../shared/rtds is not here"}
    messages = [p.read_text().strip() for p in sorted(SHARED_RTDS.rglob("*.HEX"))]
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp) / "driver.js"
        driver.write_text(DRIVER)
        listing = Path(tmp) / "messages.json"
        listing.write_text(json.dumps(messages))
        keystore = SHARED_RTDS.parent / "keystore"
        result = subprocess.run(
            ["node", str(driver), parser_dir, str(listing), str(keystore)],
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_SECONDS,
        )
    if result.returncode != 0:
        return {"skipped": f"the reference parser did not run: {result.stderr.strip()[:300]}"}
    return json.loads(result.stdout)
