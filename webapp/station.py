"""The whole terminal: its database, its radio, its runner (and the simulated HAN).

This module is the composition root.  The web server (``open_app``, which ``hht serve``
calls in its worker), the headless ``hht run-job``, ``hht scan``/``hht connect``
(``open_radio``), the benchmarks, the soak and the tests all open the terminal here; the
radio and the runner live on an asyncio loop.  It is the only production module that reaches the
stand-ins in ``webapp.sim``, and only when the simulated radio is chosen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webapp import config
from webapp.gbcs.signing import CertificateStore
from webapp.jobs import repo
from webapp.jobs.captures import JobCaptures
from webapp.jobs.runner import Publisher, Runner
from webapp.sdnotify import notify, watchdog_interval
from webapp.store.audit import state as audit_state
from webapp.store.audit.key import AuditKeyError
from webapp.store.db import Store
from webapp.workpack import load as pack_loading
from webapp.workpack import trust
from webapp.zigbee.drivers.base import RadioDriver, RadioError
from webapp.zigbee.drivers.select import RadioChoiceError, choose_radio

if TYPE_CHECKING:
    from flask import Flask

    from webapp.clock import Clock
    from webapp.sim.han.han import SimHan

log = logging.getLogger(__name__)

#: How often the station looks for an unplugged stick coming back.
RADIO_WATCH_SECONDS = 2.0
#: How often the running terminal checks (and records) the audit events added since the
#: last check, so a job page's check walks at most this long's events.
AUDIT_CHECK_SECONDS = 600.0
#: How long closing the station may take when the web server stops.
CLOSE_TIMEOUT_SECONDS = 10.0


class StationError(RuntimeError):
    """The station cannot start, with the reason."""


def load_certificates(store: Store) -> CertificateStore:
    """Supplier and device signing certificates the terminal trusts (each read when its
    holder is first looked up)."""
    certs = CertificateStore()
    db = store.reader()
    for table in ("suppliers", "device_certificates"):
        for row in db[table].rows:
            if row["certificate_pem"]:
                certs.add_pem(row["eui"], row["certificate_pem"].encode())
    return certs


#: Moves whenever a trusted certificate is added, replaced or removed (schema m006).
TRUST_VERSION_SQL = "SELECT version FROM trust_version WHERE id = 1"


class TrustedCertificates:
    """The signing certificates the terminal trusts, as the database holds them now.

    The runner looks a signer up for every answer, and the message page for every message
    it shows.  The certificates are reloaded when the trusted suppliers or device
    certificates changed since the last look (the database's trust version, kept by
    triggers), whoever changed them: this process (a pack loaded from a page) or another
    (``hht workpack load`` beside a running server).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._stamp: int | None = None
        self._certificates = CertificateStore()
        self._lock = threading.Lock()

    def _stamp_now(self) -> int:
        return int(self._store.reader().execute(TRUST_VERSION_SQL).fetchone()[0])

    def current(self) -> CertificateStore:
        """The certificates now trusted, reloaded if the database changed."""
        stamp = self._stamp_now()
        with self._lock:
            if stamp != self._stamp:
                self._certificates = load_certificates(self._store)
                self._stamp = stamp
            return self._certificates

    def public_key_for(self, eui: bytes | str) -> Any:
        return self.current().public_key_for(eui)

    def __contains__(self, eui: object) -> bool:
        return eui in self.current()

    def __len__(self) -> int:
        return len(self.current())


# ---------------------------------------------------------------- the radio
@dataclass
class OpenedRadio:
    """A radio ready to use, the simulated HAN behind it (sim only), and any notice
    to show (e.g. ``auto`` found no stick and runs the simulator)."""

    driver: RadioDriver
    han: SimHan | None = None
    notice: str | None = None

    async def close(self) -> None:
        await self.driver.close()
        if self.han is not None:
            self.han.close()


async def open_radio(data_dir: Path, radio: str = "sim", *, time_scale: float = 1.0) -> OpenedRadio:
    """Open the radio ``radio`` names: ``sim``, ``ezsp:PORT``, ``deconz:PORT`` or ``auto``.

    The simulated HAN in ``data_dir`` runs at ``time_scale``; a stick uses the terminal's
    provisioned credentials.  Raises StationError with the reason when it cannot open.
    """
    try:
        choice = choose_radio(radio)
    except RadioChoiceError as exc:
        raise StationError(str(exc)) from exc
    if choice.kind == "sim":
        from webapp.sim.han.han import SimHan

        missing = f"No simulated HAN in {data_dir}. Run 'hht init --demo --data-dir {data_dir}'."
        sim_dir = data_dir / config.SIM_DIR
        if not sim_dir.exists():
            raise StationError(missing)
        try:
            han = SimHan.open(sim_dir, time_scale=time_scale)
        except FileNotFoundError as exc:
            raise StationError(missing) from exc
        counters_dir = data_dir / config.RADIO_STATE_DIR
        counters_dir.mkdir(mode=0o700, exist_ok=True)
        return OpenedRadio(han.driver(counters_dir=counters_dir), han, choice.notice)
    from webapp.zigbee.sticks import StickError, open_stick

    try:
        driver = await open_stick(choice, data_dir)
    except StickError as exc:
        raise StationError(str(exc)) from exc
    return OpenedRadio(driver, None, choice.notice)


# ---------------------------------------------------------------- the station
@dataclass
class Station:
    data_dir: Path
    store: Store
    driver: RadioDriver
    runner: Runner
    han: SimHan | None = None
    radio_notice: str | None = None  # a banner: e.g. auto found no stick and runs the sim
    time_scale: float = 1.0
    tasks: list[asyncio.Task] = field(default_factory=list)
    pusher: Any = None  # the fleet pusher, when the HHT joined a fleet office

    @classmethod
    async def open(
        cls,
        data_dir: Path,
        *,
        radio: str = "sim",
        driver: RadioDriver | None = None,
        han: SimHan | None = None,
        time_scale: float = 1.0,
        publish: Publisher | None = None,
        clock: Clock | None = None,
    ) -> Station:
        """Open the database, the radio and the runner (on the loop that will own them).

        With ``driver`` (tests, the soak, benchmarks) the station wires that radio instead
        of opening the one ``radio`` names, and ``han`` is the simulated HAN behind it,
        if any; the station then closes both but does not watch the radio (no background
        tasks).  ``clock`` is the terminal's time estimate for the runner.
        """
        store = Store.open(data_dir)
        try:  # the events added since the last check; a break is logged and recorded
            await asyncio.to_thread(audit_state.check_on_open, store)
        except AuditKeyError as exc:
            store.close()
            raise StationError(str(exc)) from exc
        interrupted = await store.write_async(repo.pause_interrupted_jobs)
        if interrupted:
            log.warning("jobs interrupted by a restart, now paused: %s", ", ".join(interrupted))
        opened: OpenedRadio | None = None
        if driver is None:
            try:
                opened = await open_radio(data_dir, radio, time_scale=time_scale)
            except StationError:
                store.close()
                raise
            driver, han = opened.driver, opened.han
        runner = Runner(
            store,
            driver,
            publish,
            time_scale=time_scale,
            certificates=TrustedCertificates(store),
            clock=clock,
            captures=JobCaptures(data_dir / config.CAPTURES_DIR),
        )
        station = cls(
            data_dir=data_dir,
            store=store,
            driver=driver,
            runner=runner,
            han=han,
            radio_notice=opened.notice if opened else None,
            time_scale=time_scale,
        )
        if opened is not None:
            station._start_watching()
        return station

    def _start_watching(self) -> None:
        """The systemd watchdog (when configured), the unplugged-stick watcher, and the
        fleet pusher (a thread of its own, when the HHT joined a fleet office)."""
        interval = watchdog_interval()
        if interval:
            self.tasks.append(asyncio.create_task(_watchdog(interval)))
        self.tasks.append(asyncio.create_task(_watch_radio(self)))
        self.tasks.append(asyncio.create_task(_check_audit_chain(self.store)))
        self._start_fleet_pusher()

    def _start_fleet_pusher(self) -> None:
        from webapp.fleet.client.pusher import Pusher

        def load(data: bytes, installer: str | None) -> pack_loading.LoadResult:
            return self.load_pack(
                data,
                source="fleet",
                actor="fleet",
                accept_other_supplier=True,
                default_assignee=installer,
            )

        def radio() -> dict[str, Any]:
            return {"kind": self.driver.info.kind, "available": self.driver.available}

        pusher = Pusher(self.store, self.data_dir, load, radio)
        if pusher.start():
            self.pusher = pusher

    # ------------------------------------------------------------ trust and work
    def add_supplier(self, pem: bytes, name: str, eui: str | None = None) -> dict[str, Any]:
        """Trust the supplier certificate ``pem``; the runner checks with it at once (the
        database's trust version moves, see TrustedCertificates).

        Raises WorkPackError with the problems when the certificate is refused."""
        with self.store.write() as db:
            return trust.add_supplier(db, pem, name, eui)

    def load_pack(
        self,
        data: bytes,
        *,
        source: str,
        actor: str,
        accept_other_supplier: bool = False,
        default_assignee: str | None = None,
    ) -> pack_loading.LoadResult:
        """Verify and load a work pack; the runner then trusts the device certificates it
        brought (the trust version moves).  Raises WorkPackError (or OtherSupplierWaiting)
        and loads nothing when the pack is refused."""
        return pack_loading.load_pack(
            self.store,
            data,
            source=source,
            actor=actor,
            accept_other_supplier=accept_other_supplier,
            default_assignee=default_assignee,
        )

    async def close(self) -> None:
        if self.pusher is not None:  # its sync may need the loop: wait for it off the loop
            await asyncio.to_thread(self.pusher.stop)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)  # each ends what it began
        await self.runner.disconnect()
        await self.driver.close()
        if self.han is not None:
            self.han.close()
        self.store.close()


async def radio_came_back(station: Station) -> bool:
    """If the stick was unplugged and is back: reopen it and resume the jobs its going
    paused.  True when it came back now."""
    driver = station.driver
    if driver.available:
        return False
    try:
        await driver.reopen()
    except RadioError as exc:
        log.debug("radio still gone: %s", exc)
        return False
    log.info("the radio stick is back")
    resumed = await station.runner.resume_after_radio_returns()
    if resumed:
        log.info("resumed after the stick came back: %s", ", ".join(resumed))
    return True


async def _watch_radio(station: Station) -> None:
    """Look for an unplugged stick coming back, every ``RADIO_WATCH_SECONDS``."""
    while True:
        await asyncio.sleep(RADIO_WATCH_SECONDS)
        try:
            await radio_came_back(station)
        except Exception:  # noqa: BLE001 - the watcher must outlive any one failure
            log.exception("radio watch failed")


async def _check_audit_chain(store: Store, interval: float = AUDIT_CHECK_SECONDS) -> None:
    """Every ``interval``, check and record the audit events added since the last check
    (off the loop: the walk reads on a connection of its own)."""
    while True:
        await asyncio.sleep(interval)
        check = asyncio.ensure_future(asyncio.to_thread(audit_state.check_new_events, store))
        try:
            await asyncio.shield(check)
        except asyncio.CancelledError:
            # the station is closing: the walk runs in a thread, which a cancel cannot stop,
            # so it ends (and writes what it found) before the store is closed
            with contextlib.suppress(Exception):
                await check
            raise
        except Exception:  # noqa: BLE001 - the checker must outlive any one failure
            log.exception("the audit chain's periodic check failed")


async def _watchdog(interval: float) -> None:
    """Ping systemd while the loop is alive: a stuck loop stops the pings."""
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)


# ---------------------------------------------------------------- the web server
def open_app(
    data_dir: Path | str | None = None,
    *,
    radio: str = "sim",
    time_scale: float = 1.0,
    secure_cookies: bool = False,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    """The web app over a station opened on its own loop thread.

    Runner updates reach the browsers through the app's Socket.IO.  Raises StationError
    (and leaves no thread behind) when the radio cannot open.
    """
    from webapp.web.app import JobChannel, create_app
    from webapp.web.bridge import LoopThread

    directory = config.resolve_data_dir(data_dir)
    loop = LoopThread().start()
    channel = JobChannel()
    try:
        station = loop.call(
            Station.open(directory, radio=radio, time_scale=time_scale, publish=channel)
        )
    except BaseException:
        loop.stop()
        raise
    try:
        return create_app(
            station=station,
            loop=loop,
            channel=channel,
            secure_cookies=secure_cookies,
            test_config=test_config,
        )
    except BaseException:
        loop.call(station.close(), timeout=CLOSE_TIMEOUT_SECONDS)
        loop.stop()
        raise
