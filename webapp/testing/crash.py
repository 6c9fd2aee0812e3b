"""The crash harness: pull the plug at chosen points of a job, restart, and audit.

Each trial copies a demo data directory, runs ``hht run-job JOB --fast --json``
with ``HHT_KILL_AT=point:n`` so the process SIGKILLs itself there, then runs it
again (without the kill) until the job ends, and audits the result against the
simulated devices' own logs, which outlive the HHT as real meters would:

* every command of the job executed exactly once on its device;
* every response stored exactly once (one non-duplicate response per command);
* the job completed, and its event log's hash chain verifies.

A requested kill point that the run never reached is a failure: the report
lists it under ``unreached`` and the command exits non-zero saying so.

``python -m webapp.testing.crash --points 60`` runs a longer campaign and prints
a JSON report.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from webapp.faults import KILL_ENV, POINTS

RUN_TIMEOUT_SECONDS = 120
MAX_RESTARTS = 4


@dataclass
class Trial:
    point: str
    nth: int
    killed: bool = False
    restarts: int = 0
    status: str = ""
    executed_twice: int = 0
    never_executed: int = 0
    responses_lost: int = 0
    responses_doubled: int = 0
    chain_ok: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.killed and not self.problems


def _hht() -> str:
    return str(Path(sys.executable).with_name("hht"))


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_hht(), *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        env={**os.environ, **(env or {})},
    )


def audit(data_dir: Path, job_id: str, trial: Trial) -> None:
    """Compare the HHT's records with the devices' logs."""
    from webapp.store.db import Store
    from webapp.store.events import verify_chain

    store = Store.open(data_dir)
    try:
        db = store.reader()
        commands = list(db.query("SELECT * FROM commands WHERE job_id = ?", [job_id]))
        responses = list(
            db.query(
                "SELECT command_id, count(*) AS n FROM responses "
                "WHERE job_id = ? AND duplicate_of IS NULL AND command_id IS NOT NULL "
                "GROUP BY command_id",
                [job_id],
            )
        )
        trial.chain_ok = verify_chain(db, job_id) is None
        trial.status = db["jobs"].get(job_id)["status"]
    finally:
        store.close()
    log = json.loads(_run(["sim", "log", "--json", "--data-dir", str(data_dir)]).stdout)
    executions = {(r["device"], r["counter"]): r["executions"] for r in log}
    stored = {r["command_id"]: r["n"] for r in responses}
    for c in commands:
        ran = executions.get((c["recipient"], c["counter"]), 0)
        if ran > 1:
            trial.executed_twice += 1
        if ran == 0:
            trial.never_executed += 1
        # without a WAN every command's own answer must be kept; a duplicate rejection in
        # its place means the answer to the first delivery was lost
        if stored.get(c["id"], 0) == 0 or c["state"] != "answered":
            trial.responses_lost += 1
        if stored.get(c["id"], 0) > 1:
            trial.responses_doubled += 1
    if trial.executed_twice:
        trial.problems.append(f"{trial.executed_twice} commands executed twice")
    if trial.never_executed:
        trial.problems.append(f"{trial.never_executed} commands never executed")
    if trial.responses_lost:
        trial.problems.append(f"{trial.responses_lost} responses lost")
    if trial.responses_doubled:
        trial.problems.append(f"{trial.responses_doubled} responses stored twice")
    if not trial.chain_ok:
        trial.problems.append("event log hash chain broken")
    if trial.status != "completed":
        trial.problems.append(f"job ended {trial.status}")


def run_trial(
    template: Path, workdir: Path, job_id: str, hub_id: str, point: str, nth: int
) -> Trial:
    trial = Trial(point, nth)
    data_dir = workdir / f"trial-{point}-{nth}"
    shutil.copytree(template, data_dir)
    args = ["run-job", job_id, "--fast", "--json", "--data-dir", str(data_dir)]
    power_cycle = ["sim", "power-cycle", hub_id, "--data-dir", str(data_dir)]
    _run(power_cycle)
    first = _run(args, {KILL_ENV: f"{point}:{nth}"})
    trial.killed = first.returncode == -signal.SIGKILL
    if not trial.killed:
        trial.problems.append(f"no kill at {point}:{nth} (exit {first.returncode})")
    for _ in range(MAX_RESTARTS):
        _run(power_cycle)  # the window may have closed in fast time; a real installer re-powers
        again = _run(args)
        trial.restarts += 1
        if again.returncode == 0:
            break
    audit(data_dir, job_id, trial)
    return trial


def plan(points: int, commands: int, seed: int) -> list[tuple[str, int]]:
    """Every point at its first pass, then random passes (1..commands) up to ``points``."""
    rng = random.Random(seed)
    chosen = [(p, 1) for p in POINTS][:points]
    possible = len(POINTS) * commands
    while len(chosen) < min(points, possible):
        pair = (rng.choice(POINTS), rng.randint(1, commands))
        if pair not in chosen:
            chosen.append(pair)
    return chosen


def campaign(points: int, seed: int = 1, workdir: Path | None = None) -> dict:
    from webapp.sim.demo import create_demo
    from webapp.store.db import Store

    owned = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="hht-crash-")) if owned else workdir
    try:
        template = workdir / "template"
        job_id = create_demo(template)[0]
        store = Store.open(template)
        job = store.reader()["jobs"].get(job_id)
        n_commands = store.reader()["commands"].count_where("job_id = ?", [job_id])
        store.close()
        trials = [
            run_trial(template, workdir, job_id, job["expected_hub_id"], point, nth)
            for point, nth in plan(points, n_commands, seed)
        ]
    finally:
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "kill_points_tried": len(trials),
        "killed": sum(t.killed for t in trials),
        "unreached": [f"{t.point}:{t.nth}" for t in trials if not t.killed],
        "commands_executed_twice": sum(t.executed_twice for t in trials),
        "responses_lost": sum(t.responses_lost for t in trials),
        "responses_doubled": sum(t.responses_doubled for t in trials),
        "failed_trials": [asdict(t) for t in trials if not t.ok],
        "trials": [asdict(t) for t in trials],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    report = campaign(args.points, args.seed)
    summary = {k: v for k, v in report.items() if k != "trials"}
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
    problems = failures(report)
    for problem in problems:
        print(f"crash harness FAILED: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)


def failures(report: dict) -> list[str]:
    """What makes a campaign fail, in plain words (empty when it passed)."""
    problems = []
    if report["unreached"]:
        problems.append(
            f"{len(report['unreached'])} requested kill points were never reached (the run "
            f"ended without passing them): {', '.join(report['unreached'])}"
        )
    for trial in report["failed_trials"]:
        if trial["killed"]:
            problems.append(f"{trial['point']}:{trial['nth']}: {'; '.join(trial['problems'])}")
    return problems


if __name__ == "__main__":
    main()
