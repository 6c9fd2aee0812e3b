"""The whole terminal: its database, its radio, its runner (and the simulated HAN).

Both the web server and the headless ``hht run-job`` build one of these; the
radio and runner live on an asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from webapp import config
from webapp.gbcs.signing import CertificateStore
from webapp.jobs import repo
from webapp.jobs.runner import Publisher, Runner
from webapp.sdnotify import notify, watchdog_interval
from webapp.store.db import Store
from webapp.zigbee.drivers.base import RadioDriver, RadioError
from webapp.zigbee.drivers.select import RadioChoiceError, choose_radio

log = logging.getLogger(__name__)

#: How often the station looks for an unplugged stick coming back.
RADIO_WATCH_SECONDS = 2.0


class StationError(RuntimeError):
    """The station cannot start, with the reason."""


def load_certificates(store: Store) -> CertificateStore:
    """Supplier and device signing certificates the terminal trusts."""
    from cryptography import x509

    certs = CertificateStore()
    db = store.reader()
    for table in ("suppliers", "device_certificates"):
        for row in db[table].rows:
            if row["certificate_pem"]:
                pem = row["certificate_pem"].encode()
                try:
                    certs.add(row["eui"], x509.load_pem_x509_certificate(pem))
                except ValueError:
                    from cryptography.hazmat.primitives.serialization import load_pem_public_key

                    certs.add(row["eui"], load_pem_public_key(pem))
    return certs


@dataclass
class Station:
    data_dir: Path
    store: Store
    driver: RadioDriver
    runner: Runner
    han: object | None = None
    radio_notice: str | None = None  # a banner: e.g. auto found no stick and runs the sim
    tasks: list[asyncio.Task] = field(default_factory=list)

    @classmethod
    async def open(
        cls,
        data_dir: Path,
        *,
        radio: str = "sim",
        time_scale: float = 1.0,
        publish: Publisher | None = None,
    ) -> Station:
        """Open the database and the radio (call on the loop that will own them)."""
        store = Store.open(data_dir)
        with store.write() as db:
            interrupted = repo.pause_interrupted_jobs(db)
        if interrupted:
            log.warning("jobs interrupted by a restart, now paused: %s", ", ".join(interrupted))
        try:
            choice = choose_radio(radio)
        except RadioChoiceError as exc:
            store.close()
            raise StationError(str(exc)) from exc
        han = None
        if choice.kind == "sim":
            from webapp.sim.han.han import SimHan

            sim_dir = data_dir / config.SIM_DIR
            if not sim_dir.exists():
                store.close()
                raise StationError(
                    f"No simulated HAN in {data_dir}. Run 'hht init --demo --data-dir {data_dir}'."
                )
            han = SimHan.open(sim_dir, time_scale=time_scale)
            driver: RadioDriver = han.driver()
        else:
            from webapp.zigbee.drivers.sticks import StickError, open_stick

            try:
                driver = await open_stick(choice, data_dir)
            except StickError as exc:
                store.close()
                raise StationError(str(exc)) from exc
        runner = Runner(
            store,
            driver,
            publish,
            time_scale=time_scale,
            certificates=load_certificates(store),
        )
        station = cls(
            data_dir=data_dir,
            store=store,
            driver=driver,
            runner=runner,
            han=han,
            radio_notice=choice.notice,
        )
        interval = watchdog_interval()
        if interval:
            station.tasks.append(asyncio.create_task(_watchdog(interval)))
        station.tasks.append(asyncio.create_task(_watch_radio(station)))
        return station

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
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


async def _watchdog(interval: float) -> None:
    """Ping systemd while the loop is alive: a stuck loop stops the pings."""
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)
