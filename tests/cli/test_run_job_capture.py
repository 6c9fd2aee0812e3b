"""``hht run-job --pcap``: the capture of a whole demo job, judged by Wireshark.

tshark, given the keys in ``FILE.keys``, finds no malformed packet and no expert warning;
every NWK- and APS-secured frame opens; the join, both key establishments and the
tunnel are there; and the GBCS messages the dissector finds are exactly the job's
commands and the responses it stored, field for field as ``hht parse`` reads them.
"""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

from tests.cli.test_cli import hht
from tests.tshark import decode, field, needs_tshark, problems
from webapp.gbcs.message import parse_message

KE_COMMANDS = {  # Key Establishment command names tshark prints, both directions
    "Initiate Key Establishment",
    "Ephemeral Data",
    "Confirm Key Data",
}


def _gbcs_in_capture(packets: list[dict[str, Any]]) -> set[tuple[int, int, str, str]]:
    """(message code, counter, originator, recipient) of each GBCS message tshark found."""
    found = set()
    for layers in packets:
        codes = field(layers, "gbcs_message.grouping_header.message_code")
        counters = field(layers, "gbcs_message.grouping_header.originator_counter")
        originators = field(layers, "gbcs_message.grouping_header.business_originator_id")
        recipients = field(layers, "gbcs_message.grouping_header.business_target_id")
        for code, counter, originator, recipient in zip(
            codes, counters, originators, recipients, strict=True
        ):
            found.add(
                (
                    int(code, 0),
                    int(counter),
                    originator.replace(":", "").upper(),
                    recipient.replace(":", "").upper(),
                )
            )
    return found


def _gbcs_in_store(data_dir: Path, job_id: str) -> set[tuple[int, int, str, str]]:
    """The same four fields, by ``hht parse``'s parser, of every command and response."""
    db = sqlite3.connect(data_dir / "hht.sqlite")
    try:
        raws = [r[0] for r in db.execute("SELECT raw FROM commands WHERE job_id = ?", [job_id])]
        raws += [r[0] for r in db.execute("SELECT raw FROM responses WHERE job_id = ?", [job_id])]
    finally:
        db.close()
    messages = [parse_message(raw) for raw in raws]
    return {(m.message_code, m.counter, m.originator_hex, m.recipient_hex) for m in messages}


@needs_tshark
def test_a_demo_job_capture_reads_cleanly_in_wireshark(demo_dir, demo_jobs, tmp_path):
    job = demo_jobs[0]
    hht("sim", "power-cycle", job["expected_hub_id"], "--data-dir", str(demo_dir))
    pcap = tmp_path / "job.pcapng"
    result = json.loads(
        hht(
            "run-job",
            job["id"],
            "--fast",
            "--json",
            "--pcap",
            str(pcap),
            "--data-dir",
            str(demo_dir),
        ).stdout
    )
    assert result["status"] == "completed"
    assert result["capture"]["frames"] > 100
    keys_file = Path(result["capture"]["keys"])
    assert keys_file == tmp_path / "job.pcapng.keys"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    keys = [bytes.fromhex(line) for line in keys_file.read_text().split()]
    assert len(keys) == 3  # the network key, the install-code key, the CBKE key

    packets = decode(pcap, keys=keys)
    assert len(packets) == result["capture"]["frames"]
    assert problems(packets) == []

    # every secured frame opened: each security header names the key that opened it (one
    # given, or one learnt from the Transport Key), and nothing is left encrypted
    nwk_secured = [p for p in packets if "1" in field(p, "zbee_nwk.security")]
    aps_secured = [p for p in packets if "1" in field(p, "zbee_aps.security")]
    assert len(nwk_secured) > 50 and len(aps_secured) > 50
    for p in packets:
        headers = len(field(p, "zbee.sec.field"))
        if "0x02" in field(p, "zbee_aps.type") and "1" in field(p, "zbee_aps.security"):
            headers -= 1  # Wireshark opens no APS ack: it has no payload, only a MIC
        assert len(field(p, "zbee.sec.key")) == headers, p["frame"]["frame.number"]
    assert not any("encrypted" in json.dumps(p).lower() for p in packets)
    assert all("zbee_aps" in p for p in nwk_secured)

    # the join, key establishment (Inter-PAN and over APS), the tunnel
    mac_commands = [c for c in field_values(packets, "wpan.cmd") if c != "0x07"]  # no scans
    assert mac_commands == ["0x01", "0x04", "0x02"]  # association request, poll, response
    summary = json.dumps(packets)
    assert '"zbee_aps.cmd.id": "0x05"' in summary  # Transport Key, opened
    assert "zbee_zdp" in summary  # Device Announce
    ke_frames = [
        p
        for p in packets
        if field(p, "zbee_zcl_se.ke.cmd.srv_rx.id") or field(p, "zbee_zcl_se.ke.cmd.srv_tx.id")
    ]
    assert len(ke_frames) == 12  # six steps each way: over Inter-PAN, then over APS
    tunnel = field_values(packets, "zbee_zcl_se.tun.cmd.srv_rx.id")
    assert tunnel[0] == "0x00" and tunnel[-1] == "0x01"  # Request Tunnel ... Close Tunnel

    assert _gbcs_in_capture(packets) == _gbcs_in_store(demo_dir, job["id"])


def field_values(packets: list[dict[str, Any]], name: str) -> list[str]:
    return [value for p in packets for value in field(p, name)]
