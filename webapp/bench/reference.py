"""Optional: time the DCC's TypeScript gbcs-parser on the same RTDS files, for comparison.

Point ``HHT_REFERENCE_PARSER`` at a built copy of it (the package folder, holding
``package.json`` and ``dist/``); nothing of it is part of this project. Without it, or
without ``node``, the figure is reported as skipped.

The reference has one entry point, ``parseGbcsMessage(text, keyStore)``, which always parses
the whole message (there is no header-only parse), so its figures compare with our
``full_describe`` ones:

* the top-level figures use a key store serving the public RTDS certificates (``*.pem``) and
  refusing every private key, so signatures are verified as ours are in
  ``full_describe_verified``; messages with an encrypted payload then fail at the very end,
  when the reference asks for a private key to decrypt it (``errors_needing_private_key``);
* ``without_keys`` uses a key store that refuses everything, like our ``full_describe``
  without a certificate store; every signed message then fails once its payload is parsed,
  when the reference asks for the signer's certificate.

Keys are loaded before the clock starts; only ``parseGbcsMessage`` calls are timed, best of
three runs over the corpus.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from webapp.bench.rtds import KEYSTORE, SHARED_RTDS, rtds_hex_texts

REFERENCE_ENV = "HHT_REFERENCE_PARSER"
NODE_TIMEOUT_SECONDS = 300

DRIVER = r"""
const fs = require('fs'); const path = require('path'); const crypto = require('crypto');
const [parserDir, listFile, keystore] = process.argv.slice(2);
const { parseGbcsMessage } = require(path.resolve(parserDir));
const messages = JSON.parse(fs.readFileSync(listFile, 'utf8'));
const bytes = messages.reduce((a, h) => a + h.length / 2, 0);
const keys = new Map();
if (keystore && fs.existsSync(keystore)) {
  for (const f of fs.readdirSync(keystore)) {
    if (f.endsWith('.pem')) {
      keys.set(f.slice(0, -4).toLowerCase(),
        crypto.createPublicKey(fs.readFileSync(path.join(keystore, f))));
    }
  }
}
const PRIVATE = 'hht: no private keys', UNKNOWN = 'hht: no such certificate';
const publicOnly = async (eui, type, options) => {
  if (options && options.privateKey) throw new Error(PRIVATE);
  const hex = (typeof eui === 'string' ? eui : Buffer.from(eui).toString('hex'))
    .replace(/-/g, '').toLowerCase();
  const key = keys.get(`${hex}-${type.toLowerCase()}`);
  if (key === undefined) throw new Error(UNKNOWN);
  return key;
};
const none = async (eui, type, options) => {
  throw new Error(options && options.privateKey ? PRIVATE : UNKNOWN);
};
async function run(keyStore) {
  let best = Infinity, counts = {};
  for (let r = 0; r < 3; r++) {
    counts = { errors: 0, private: 0, unknown: 0 };
    const t0 = process.hrtime.bigint();
    for (const h of messages) {
      try { await parseGbcsMessage(h, keyStore); } catch (e) {
        counts.errors++;
        if (e && e.message === PRIVATE) counts.private++;
        else if (e && e.message === UNKNOWN) counts.unknown++;
      }
    }
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { messages: messages.length, bytes, seconds: best,
    messages_per_second: messages.length / best, mb_per_second: bytes / best / 1e6,
    errors: counts.errors, errors_needing_private_key: counts.private,
    errors_unknown_signer: counts.unknown,
    parse_errors: counts.errors - counts.private - counts.unknown };
}
(async () => {
  const figures = await run(publicOnly);
  figures.without_keys = await run(none);
  console.log(JSON.stringify(figures));
})();
"""


def reference_figures() -> dict[str, Any]:
    """The reference parser's throughput on the RTDS files, or ``{"skipped": reason}``.

    Returns ``messages``, ``bytes``, ``seconds``, ``messages_per_second``, ``mb_per_second``,
    ``errors`` (exceptions, of any cause) split into ``errors_needing_private_key``,
    ``errors_unknown_signer`` and ``parse_errors``, and the same figures under
    ``without_keys``.
    """
    parser_dir = os.environ.get(REFERENCE_ENV)
    if not parser_dir:
        return {"skipped": f"set {REFERENCE_ENV} to a built copy of the TypeScript gbcs-parser"}
    if not (Path(parser_dir) / "package.json").is_file():
        return {"skipped": f"{REFERENCE_ENV}={parser_dir} holds no package.json"}
    node = shutil.which("node")
    if node is None:
        return {"skipped": "node is not installed"}
    if not SHARED_RTDS.is_dir():
        return {"skipped": "../shared/rtds is not here"}
    messages = rtds_hex_texts()
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp) / "driver.js"
        driver.write_text(DRIVER)
        listing = Path(tmp) / "messages.json"
        listing.write_text(json.dumps(messages))
        try:
            result = subprocess.run(
                [node, str(driver), parser_dir, str(listing), str(KEYSTORE)],
                capture_output=True,
                text=True,
                timeout=NODE_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            return {"skipped": f"the reference parser took over {NODE_TIMEOUT_SECONDS} s"}
    if result.returncode != 0:
        return {"skipped": f"the reference parser did not run: {result.stderr.strip()[:300]}"}
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


if __name__ == "__main__":
    print(json.dumps(reference_figures(), indent=2))
