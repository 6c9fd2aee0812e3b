from __future__ import annotations

import pytest

from webapp.bench.frames import cbke_figures


def test_cbke_figures_shape() -> None:
    figures = cbke_figures(runs=1, codec_runs=5)
    assert figures["cbke_suite"] == 2
    assert 0 < figures["cbke_initiator_ms"] < figures["cbke_handshake_ms"]
    for name in (
        "beacon",
        "interpan_ke",
        "nwk_aps_data",
        "ke_ephemeral",
        "tunnel_put_1500",
        "aps_fragments_1500",
    ):
        frame = figures["frames"][name]
        assert frame["octets"] > 0 and frame["encode_us"] > 0 and frame["decode_us"] > 0


def test_stack_figures_are_modelled_airtime_below_the_ceiling() -> None:
    from webapp.bench.stack import stack_figures

    figures = stack_figures()
    assert 0 < figures["goodput_over_ceiling"] < 1  # the medium model cannot beat physics
    assert figures["reconnect_sim_s"] < figures["connect_first_sim_s"]  # no Inter-PAN again
    assert figures["goodput_frames"] > 0 and figures["hht_software_us_per_frame"] > 0


def test_the_runner_steps_the_bench_times_exist() -> None:
    """The runner's software-time figure wraps these methods; a renamed one would break it."""
    from webapp.bench.suite import RUNNER_STEPS
    from webapp.jobs.delivery import Delivery
    from webapp.jobs.journal import Journal
    from webapp.jobs.live import LiveBoard
    from webapp.jobs.receiver import Receiver

    owners = {
        "Delivery": Delivery,
        "Journal": Journal,
        "LiveBoard": LiveBoard,
        "Receiver": Receiver,
    }
    assert set(RUNNER_STEPS) == set(owners)
    for owner, names in RUNNER_STEPS.items():
        for name in names:
            assert callable(getattr(owners[owner], name, None)), f"{owner}.{name}"


def test_whole_process_timing_and_the_reference_left_out_when_not_set(monkeypatch) -> None:
    import sys

    from webapp.bench import oneshot

    figures = oneshot.time_process([sys.executable, "-c", "pass"], runs=3)
    assert figures["runs"] == 3
    assert 0 < figures["min_ms"] <= figures["median_ms"] <= figures["max_ms"]
    monkeypatch.delenv(oneshot.REFERENCE_ENV, raising=False)
    one = oneshot.one_file_parse_figures(runs=1)
    if "skipped" in one:  # ../shared/rtds is absent
        assert "shared" in one["skipped"]
    else:
        assert one["hht"]["runs"] == 1 and one["hht"]["median_ms"] > 0
        assert "skipped" in one["reference"]


def test_whole_process_timing_waits_for_the_exit_without_polling(monkeypatch) -> None:
    """The wait blocks until the exit: a wait with a timeout polls, and its sleeps (up to
    50 ms) would be counted as the process's time."""
    import subprocess
    import sys

    from webapp.bench import oneshot

    timeouts = []
    wait = subprocess.Popen.wait

    def recording_wait(self, timeout=None):
        timeouts.append(timeout)
        return wait(self, timeout)

    monkeypatch.setattr(subprocess.Popen, "wait", recording_wait)
    oneshot.time_process([sys.executable, "-c", "pass"], runs=2)
    assert timeouts == [None, None]
    with pytest.raises(subprocess.CalledProcessError):
        oneshot.time_process([sys.executable, "-c", "raise SystemExit(3)"], runs=1)


def test_the_server_figures_measure_a_real_server(demo_dir, demo_jobs) -> None:
    """``make bench``'s memory figures come from a real ``hht serve``: gunicorn's arbiter and
    its worker, each measured, the idle total their sum, beside the budget; the job it then
    runs completes."""
    from webapp.bench.suite import SERVER_RSS_BUDGET_MIB, _server_figures

    figures = _server_figures(demo_dir, demo_jobs[0]["id"])
    parts = figures["rss_idle_arbiter_and_worker_mib"]
    assert len(parts) == 2 and all(part > 0 for part in parts)
    assert abs(sum(parts) - figures["rss_idle_mib"]) < 0.01
    assert figures["rss_idle_budget_mib"] == SERVER_RSS_BUDGET_MIB == 80.0
    assert 0 < figures["pss_idle_mib"] <= figures["rss_idle_mib"]
    assert figures["rss_during_job_mib"] > 0
    assert figures["job_status_at_end"] == "completed"
