"""One sync with the fleet office: ask what it holds, push what it lacks, fetch packs.

1. ``hello``: a challenge; ``state`` (signed, with the challenge): where the fleet's copy of
   this HHT's event chain stands, the digest of every job it holds, packs waiting for this
   HHT, and answers the fleet unloaded centrally that this HHT has not marked yet.
2. Batches in the order of the event log, from where the fleet's chain stands: each carries
   the next events, the jobs whose digest differs (those the events name first), loose
   responses and the registers; each is signed.  The fleet answers each with where its
   chain now stands, which is where the next batch starts.
3. Answers unloaded centrally are marked here as received (so the HHT does not offer them
   again), packs are fetched and loaded with the HHT's own pack load, and acknowledged.

Nothing is kept on the HHT about what was sent: each sync starts from what the fleet says
it holds, so a sync cut anywhere (even between the fleet committing a batch and the HHT
hearing so) is simply repeated, with no gap and nothing twice.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from webapp.faults import checkpoint
from webapp.fleet import protocol
from webapp.fleet.client import collect
from webapp.fleet.client.config import Joined
from webapp.identity import SigningIdentity
from webapp.store.clock import utc_now
from webapp.store.db import Store
from webapp.workpack.errors import WorkPackError

log = logging.getLogger(__name__)

#: Seconds for one request (a batch is at most a few MiB).
REQUEST_TIMEOUT_SECONDS = 30.0
#: Batches one sync sends at most (the next sync goes on from there).
MAX_BATCHES_PER_SYNC = 1000
#: Times a sync starts again from the fleet's state after the fleet said a batch did not
#: continue what it holds (another sync of the same HHT raced this one).
MAX_RESTARTS = 3
FLEET_ACTOR = "fleet"
FLEET_UNLOAD_PREFIX = "fleet:"

#: Where the crash tests pull the plug in a sync (``HHT_KILL_AT=point:n``, as for the runner:
#: ``webapp.faults``).  Every batch passes the first three once, in this order.
BATCH_BUILT = "fleet-batch-built"  # a batch boundary: the batch made, nothing of it sent
MID_BODY = "fleet-mid-body"  # inside a batch: half its bytes sent
BATCH_ANSWERED = "fleet-batch-answered"  # the fleet committed it, the HHT not yet moved on
PACK_LOADED = "fleet-pack-loaded"  # a pack loaded here, not yet acknowledged
CENTRAL_MARKED = "fleet-central-marked"  # a central unload marked here
SYNC_POINTS = (BATCH_BUILT, MID_BODY, BATCH_ANSWERED, PACK_LOADED, CENTRAL_MARKED)

PackLoader = Callable[[bytes, str | None], Any]


class SyncError(RuntimeError):
    """The sync stopped, with the reason (the next one goes on from what the fleet holds)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class SyncReport:
    batches: int = 0
    events: int = 0
    jobs: int = 0
    loose: int = 0
    registers: int = 0
    chain_seq: int = 0
    packs_loaded: list[str] = field(default_factory=list)
    packs_refused: list[str] = field(default_factory=list)
    marked_central: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BatchLimits:
    """How much one batch carries at most (smaller over a poor link; never over the caps)."""

    events: int = field(default_factory=lambda: protocol.EVENTS_PER_BATCH)
    jobs: int = field(default_factory=lambda: protocol.JOBS_PER_BATCH)
    loose: int = field(default_factory=lambda: protocol.LOOSE_PER_BATCH)

    def __post_init__(self) -> None:
        for name, cap in (
            ("events", protocol.MAX_EVENTS_PER_BATCH),
            ("jobs", protocol.MAX_JOBS_PER_BATCH),
            ("loose", protocol.MAX_LOOSE_PER_BATCH),
        ):
            value = getattr(self, name)
            if not 1 <= value <= cap:
                raise ValueError(f"{name} per batch must be 1 to {cap}, not {value}")


class FleetLink:
    """Signed requests to one fleet office."""

    def __init__(self, joined: Joined, terminal: SigningIdentity) -> None:
        self.base = joined.url
        self.terminal = terminal
        self.context: ssl.SSLContext | None = None
        if self.base.startswith("https:"):
            self.context = ssl.create_default_context(
                cafile=str(joined.ca_file) if joined.ca_file else None
            )
        self.challenge: str | None = None

    def post(self, path: str, body: dict[str, Any], *, fresh: bool = True) -> bytes:
        """POST ``body`` (with the HHT's id, and the challenge when ``fresh``), signed."""
        body = {**body, "hht": self.terminal.terminal_id}
        if fresh:
            if self.challenge is None:
                self.challenge = self._hello()
            body["challenge"] = self.challenge
        data = protocol.encode(body)
        return self._send(path, data, protocol.sign(data, self.terminal.key))

    def _hello(self) -> str:
        reply = json.loads(
            self._send(protocol.HELLO, protocol.encode({"hht": self.terminal.terminal_id}), None)
        )
        return str(reply["challenge"])

    def _connection(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.base)
        if parts.scheme == "https":
            return http.client.HTTPSConnection(
                parts.hostname or "",
                parts.port,
                timeout=REQUEST_TIMEOUT_SECONDS,
                context=self.context,
            )
        return http.client.HTTPConnection(
            parts.hostname or "", parts.port, timeout=REQUEST_TIMEOUT_SECONDS
        )

    def _send(self, path: str, data: bytes, signature: str | None) -> bytes:
        """POST ``data`` to ``path``; the answer's body, or SyncError.  The body goes in two
        halves, with the kill point ``fleet-mid-body`` between them (a request cut inside)."""
        connection = self._connection()
        try:
            connection.putrequest("POST", urlsplit(self.base).path + path)
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", str(len(data)))
            connection.putheader(protocol.TERMINAL_HEADER, self.terminal.terminal_id)
            if signature:
                connection.putheader(protocol.SIGNATURE_HEADER, signature)
            connection.endheaders()
            half = len(data) // 2
            connection.send(data[:half])
            if path == protocol.BATCH:
                checkpoint(MID_BODY)
            connection.send(data[half:])
            response = connection.getresponse()
            body = response.read(protocol.MAX_PACK_BYTES + 1)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise SyncError(f"the fleet at {self.base} cannot be reached: {exc}") from None
        finally:
            connection.close()
        if response.status != 200:
            detail = body[:4096].decode("utf-8", "replace")
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("error", detail)
            raise SyncError(f"the fleet refused {path}: {detail}", response.status)
        return body


def _mark_central(store: Store, central: list[dict[str, Any]]) -> int:
    """Mark answers the fleet unloaded centrally as received here (once per central unload)."""
    marked = 0
    for unload in central:
        name = f"{FLEET_UNLOAD_PREFIX}{int(unload['id'])}"
        with store.write() as db:
            row = db.execute("SELECT id FROM unloads WHERE file_name = ?", [name]).fetchone()
            if row is None:
                if not db["suppliers"].count_where("eui = ?", [unload["supplier"]]):
                    continue
                row = (
                    db["unloads"]
                    .insert(
                        {
                            "supplier_eui": unload["supplier"],
                            "created_at": utc_now(),
                            "created_by": FLEET_ACTOR,
                            "file_name": name,
                            "responses": len(unload["responses"]),
                            "hub_statuses": len(unload["hub_statuses"]),
                            "confirmed_at": utc_now(),
                            "confirmed_by": FLEET_ACTOR,
                        }
                    )
                    .last_pk,
                )
            local = row[0]
            for response_id in unload["responses"]:
                marked += db.execute(
                    "UPDATE responses SET received_unload_id = ? WHERE id = ? "
                    "AND received_unload_id IS NULL",
                    [local, int(response_id)],
                ).rowcount
            for job_id in unload["hub_statuses"]:
                marked += db.execute(
                    "UPDATE jobs SET hub_status_unload_id = ? WHERE id = ? "
                    "AND hub_status_unload_id IS NULL",
                    [local, str(job_id)],
                ).rowcount
        checkpoint(CENTRAL_MARKED)
    return marked


class Sync:
    """One sync of ``store`` with the fleet the HHT joined."""

    def __init__(
        self,
        store: Store,
        joined: Joined,
        terminal: SigningIdentity,
        *,
        loader: PackLoader,
        radio: Callable[[], dict[str, Any]] | None = None,
        limits: BatchLimits | None = None,
    ) -> None:
        self.store = store
        self.limits = limits or BatchLimits()
        self.link = FleetLink(joined, terminal)
        self.terminal = terminal
        self.loader = loader
        self.radio = radio
        self.report = SyncReport()

    def run(self) -> SyncReport:
        for attempt in range(MAX_RESTARTS + 1):
            try:
                self._push(self._state())
                break
            except SyncError as exc:
                if exc.status != 409 or attempt == MAX_RESTARTS:
                    raise
                log.info("fleet sync starts again from the fleet's state: %s", exc)
        state = self._state()
        self.report.marked_central = _mark_central(self.store, state.get("central", []))
        self._packs(state.get("packs", []))
        if self.report.marked_central or self.report.packs_loaded:
            self._push(self._state())  # the marks and the new jobs go at once
        return self.report

    def _state(self) -> dict[str, Any]:
        db = self.store.reader()
        seq, link = collect.head(db)
        return json.loads(self.link.post(protocol.STATE, {"head": {"seq": seq, "link": link}}))

    def _push(self, state: dict[str, Any]) -> None:
        db = self.store.reader()
        chain_seq = int(state["chain"]["seq"])
        held_jobs: dict[str, str] = dict(state.get("jobs", {}))
        loose_after = int(state.get("loose_max", 0))
        registers_digest = state.get("registers_digest")
        mine = collect.job_digests(db)
        if chain_seq > collect.head(db)[0]:
            raise SyncError(
                f"the fleet holds events up to {chain_seq}, beyond this HHT's newest "
                f"({collect.head(db)[0]}): this is not the event log the fleet knows"
            )
        for _ in range(MAX_BATCHES_PER_SYNC):
            as_of = collect.head(db)[0]
            events = collect.events_after(db, chain_seq, self.limits.events)
            named = [e["job_id"] for e in events if e["job_id"]]
            differing = [j for j, d in mine.items() if held_jobs.get(j) != d]
            order = {job: n for n, job in enumerate(dict.fromkeys(named))}
            differing.sort(key=lambda j: (order.get(j, len(order)), j))
            jobs = [collect.job_snapshot(db, j) for j in differing[: self.limits.jobs]]
            loose = collect.loose_after(db, loose_after, self.limits.loose)
            regs = collect.registers(db)
            send_regs = regs if regs["digest"] != registers_digest else None
            if not (events or jobs or loose or send_regs) and self.report.batches:
                return
            batch = {
                "format": protocol.BATCH_FORMAT,
                "seq": events[-1]["seq"] if events else chain_seq,
                "as_of": as_of,
                "after": {
                    "seq": chain_seq,
                    "link": events[0]["prev_hash"] if events else state["chain"]["link"],
                },
                "events": events,
                "jobs": jobs,
                "loose": loose,
                "registers": send_regs,
                "health": collect.health(
                    db, self.store.data_dir, self.terminal, self.radio() if self.radio else None
                ),
            }
            checkpoint(BATCH_BUILT)
            reply = json.loads(self.link.post(protocol.BATCH, batch, fresh=False))
            checkpoint(BATCH_ANSWERED)
            self.report.batches += 1
            self.report.events += len(events)
            self.report.jobs += len(jobs)
            self.report.loose += len(loose)
            self.report.registers += 1 if send_regs else 0
            chain_seq = int(reply["chain"]["seq"])
            state["chain"] = reply["chain"]
            self.report.chain_seq = chain_seq
            held_jobs.update({j["job"]["id"]: j["digest"] for j in jobs})
            if loose:
                loose_after = int(loose[-1]["id"])
            registers_digest = regs["digest"]
            mine.update({j["job"]["id"]: j["digest"] for j in jobs})
        raise SyncError(f"more than {MAX_BATCHES_PER_SYNC} batches: the next sync goes on")

    def _packs(self, packs: list[dict[str, Any]]) -> None:
        for pack in packs:
            pack_ref = int(pack["id"])
            name = str(pack.get("pack_id", pack_ref))
            already = (
                self.store.reader()
                .execute("SELECT 1 FROM work_packs WHERE sha256 = ?", [str(pack["sha256"])])
                .fetchone()
            )
            if already:  # loaded by a sync cut before its acknowledgement
                self._ack(pack_ref, "loaded", "already on this HHT")
                self.report.packs_loaded.append(name)
                continue
            data = self.link.post(protocol.PACK, {"pack": pack_ref})
            try:
                result = self.loader(data, pack.get("installer"))
            except WorkPackError as exc:
                self._ack(pack_ref, "refused", "; ".join(exc.problems)[:2000])
                self.report.packs_refused.append(name)
                log.warning("pack %s from the fleet refused: %s", name, exc.problems)
                continue
            checkpoint(PACK_LOADED)
            self._ack(pack_ref, "loaded", f"{len(result.job_ids)} jobs")
            self.report.packs_loaded.append(name)

    def _ack(self, pack_ref: int, state: str, detail: str) -> None:
        self.link.post(protocol.ACK, {"pack": pack_ref, "state": state, "detail": detail})


def sync_once(
    store: Store,
    joined: Joined,
    terminal: SigningIdentity,
    *,
    loader: PackLoader,
    radio: Callable[[], dict[str, Any]] | None = None,
    limits: BatchLimits | None = None,
) -> SyncReport:
    """Sync ``store`` with its fleet now; SyncError when it stops."""
    return Sync(store, joined, terminal, loader=loader, radio=radio, limits=limits).run()


def store_loader(store: Store) -> PackLoader:
    """The HHT's own pack load over ``store`` (``hht fleet sync`` outside the server)."""
    from webapp.workpack.load import load_pack

    def load(data: bytes, installer: str | None) -> Any:
        return load_pack(
            store,
            data,
            source="fleet",
            actor=FLEET_ACTOR,
            accept_other_supplier=True,
            default_assignee=installer,
        )

    return load


def joined_config(data_dir: Path) -> Joined:
    """The fleet ``data_dir``'s HHT joined; SyncError when none."""
    from webapp.fleet.client.config import joined

    found = joined(data_dir)
    if found is None:
        raise SyncError("this HHT joined no fleet office: hht fleet join URL")
    return found
