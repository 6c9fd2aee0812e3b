"""The secured-air bench figures hold together: phases sum to the whole, the security
overhead is what the frame counts say, the goodput stays under the one-hop ceiling.  No
timed assertions: only that the timings are there and positive."""

from __future__ import annotations

import pytest

from webapp.bench.secured_air import CONNECT_PHASES, PHASES, secured_air_figures
from webapp.bench.secured_tunnel import layer_figures, one_hop_ceiling, tunnel_figures
from webapp.sim.medium import Medium
from webapp.zigbee.drivers.base import BAND_2_4_GHZ, BAND_868_MHZ
from webapp.zigbee.sizes import APS_WINDOW, MAX_APS_BLOCK, MAX_PSDU

#: Auxiliary header (control, frame counter, extended source, key sequence) and MIC.
NWK_SECURITY_OCTETS = 5 + 8 + 1 + 4
#: Auxiliary header (control, frame counter) and MIC.
APS_SECURITY_OCTETS = 5 + 4
#: The trust centre's Transport Key names its source in the auxiliary header.
EXTENDED_NONCE_OCTETS = 8
COUNTED = ("frames", "mac_acks", "octets", "nwk_secured_frames", "aps_secured_frames")
TIMES = ("airtime_ms", "on_air_ms", "security_airtime_ms")
#: A sane floor for the goodput against the ceiling with APS acks (partial blocks, the
#: tunnel's and GBT's own headers and the hub's turnaround cost the rest).
GOODPUT_FLOOR = 0.5


def _security_of(f: dict) -> int:
    return (
        NWK_SECURITY_OCTETS * f["nwk_secured_frames"]
        + APS_SECURITY_OCTETS * f["aps_secured_frames"]
        + EXTENDED_NONCE_OCTETS * f["aps_extended_nonce_frames"]
    )


@pytest.fixture(scope="module")
def air() -> dict:
    return secured_air_figures()


def test_the_demo_job_ran_and_every_phase_is_on_the_air(air: dict) -> None:
    assert air["status"] == "completed" and air["commands"] > 0
    assert set(air["phases"]) == set(PHASES)
    for name, phase in air["phases"].items():
        assert phase["frames"] > 0, name
        assert phase["airtime_ms"] > 0, name


def test_phases_sum_to_the_connection_the_job_and_the_whole(air: dict) -> None:
    phases, total = air["phases"], air["total"]
    for key in COUNTED + ("security_octets",):
        assert sum(p[key] for p in phases.values()) == total[key], key
        connect = sum(phases[name][key] for name in CONNECT_PHASES)
        assert connect == air["connect"][key], key
        assert connect + air["job"][key] == total[key], key
    for key in TIMES:
        assert sum(p[key] for p in phases.values()) == pytest.approx(total[key], abs=1e-2), key


def test_the_security_overhead_is_what_the_frame_counts_say(air: dict) -> None:
    for name, f in {**air["phases"], "total": air["total"]}.items():
        assert f["security_octets"] == _security_of(f), name
        assert f["security_octets"] == f["nwk_security_octets"] + f["aps_security_octets"], name
        assert f["nwk_security_octets"] == NWK_SECURITY_OCTETS * f["nwk_secured_frames"], name
        assert 0 <= f["security_share_of_airtime"] < 1, name
    phases = air["phases"]
    for name in ("scan", "interpan_key_establishment", "install_code"):
        assert phases[name]["security_octets"] == 0, name  # nothing secured before the join
    assert phases["join"]["aps_extended_nonce_frames"] == 1  # the Transport Key
    ke = phases["aps_key_establishment"]
    assert ke["aps_secured_frames"] == 0  # it makes the APS key: NWK security only
    assert ke["nwk_secured_frames"] == ke["frames"] - ke["mac_acks"]
    for name in ("tunnel_open", "job"):
        f = phases[name]
        data = f["frames"] - f["mac_acks"]
        assert f["nwk_secured_frames"] == f["aps_secured_frames"] == data, name


def test_airtime_is_the_medium_formula(air: dict) -> None:
    """A full frame exchange bounds each frame's channel time; acks add frames, not time."""
    for name, f in {**air["phases"], "total": air["total"]}.items():
        exchanges = f["frames"] - f["mac_acks"]
        bound = exchanges * Medium.exchange_time(MAX_PSDU, BAND_2_4_GHZ) * 1000
        assert 0 < f["airtime_ms"] <= bound + 1e-6, name
        assert f["on_air_ms"] < f["airtime_ms"], name


def test_the_one_hop_ceiling() -> None:
    ceiling = one_hop_ceiling(BAND_2_4_GHZ)
    frame = Medium.exchange_time(MAX_PSDU, BAND_2_4_GHZ)
    assert ceiling["ceiling_kbit_s"] == pytest.approx(MAX_APS_BLOCK * 8 / frame / 1000)
    assert ceiling["ceiling_with_aps_ack_kbit_s"] < ceiling["ceiling_kbit_s"]
    assert ceiling["aps_window_blocks"] == APS_WINDOW
    assert one_hop_ceiling(BAND_868_MHZ)["ceiling_kbit_s"] < ceiling["ceiling_kbit_s"]


@pytest.mark.parametrize("band", [BAND_2_4_GHZ, BAND_868_MHZ])
def test_tunnel_goodput_is_below_the_ceiling_and_a_fair_share_of_it(band: str) -> None:
    figures = tunnel_figures(band, messages=1)
    assert figures["band"] == band and figures["messages"] == 1
    assert figures["meter_responses"] == 1  # the hub put the blocks together; the meter answered
    with_acks = figures["goodput_over_ceiling_with_aps_ack"]
    assert GOODPUT_FLOOR < with_acks < 1
    assert figures["goodput_over_ceiling"] < with_acks
    # the sim clock moved by exactly the modelled airtime of the message's frames
    assert figures["goodput_by_capture_airtime_kbit_s"] == pytest.approx(
        figures["goodput_kbit_s"], rel=1e-3
    )
    assert figures["frames_per_message"] == (
        figures["hht_data_frames_per_message"]
        + figures["hub_aps_acks_per_message"]
        + figures["mac_acks_per_message"]
    )
    # every block is acknowledged by the MAC; the hub acknowledges each window
    assert figures["mac_acks_per_message"] == (
        figures["hht_data_frames_per_message"] + figures["hub_aps_acks_per_message"]
    )
    assert figures["hub_aps_acks_per_message"] >= figures["hht_data_frames_per_message"] / (
        APS_WINDOW
    )
    assert figures["largest_psdu_octets"] <= MAX_PSDU
    assert figures["hht_cpu_us_per_frame_median"] > 0
    assert figures["process_cpu_us_per_frame_median"] > figures["hht_cpu_us_per_frame_median"]


def test_layer_figures_open_what_they_build() -> None:
    figures = layer_figures(runs=1, frames=3)
    assert figures["psdu_octets"] <= MAX_PSDU
    assert figures["aps_payload_octets"] == MAX_APS_BLOCK
    assert figures["build_secured_us"] > 0 and figures["open_secured_us"] > 0
    assert figures["build_unsecured_us"] > 0
