"""``hht workpack build``: a signed work pack from a JSON or YAML description.

It plays the supplier's and the DCC's part with the project's test PKI and the
simulated HAN's device keys, so demo data and tests travel the same path real
work does.  The description (README, "Building packs")::

    pack_id: WP-0001
    supplier: {eui: 90B3D51F30DE0001, name: Demo Energy Supply Ltd}
    return_requests: {target: 90B3D51F30000002, counter_start: 5000}   # optional
    jobs:
      - id: J0001
        site: 14 Acacia Avenue
        address: 14 Acacia Avenue, Leeds LS6 2AB
        mpxn: "1012345678901"
        appointment: 2026-11-24
        assignee: alex
        plan: dual-fuel-install            # or steps: [CCS01_ESME, ECS70, ...]
        kind: install                      # or maintenance (with installer_pin: "123456")
        hub_install: {chf_location: Deep indoors, aerial_install: false}
        device_sets:
          - sim_site: 14 Acacia Avenue     # a simulated home (made if absent)
            # also: installed, opens_without_wan, gsme_dropped (its gas meter has left
            # the HAN; the default for plan gsme-rejoin)
          - devices: {hub: ..., chf: ..., gpf: ..., esme: ..., gsme: ..., ihd: ...}

Commands for devices the simulator does not know are still well formed, with a
MAC key derived from the device id: no real device would accept them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from webapp import config
from webapp.duis import build_local_command
from webapp.gbcs.eui import eui_text
from webapp.sim.catalogue import (
    PLANS,
    REPLACES,
    STEPS,
    Step,
    device_set_of,
    service_requests_for,
)
from webapp.sim.han.han import SimHan
from webapp.sim.pki import Identity, TestPki
from webapp.workpack.archive import write_archive
from webapp.workpack.errors import WorkPackError
from webapp.workpack.manifest import FORMAT, MANIFEST_NAME, SIGNATURE_NAME
from webapp.workpack.trust import sha256_hex, sign_detached

MAX_SPEC_BYTES = 4 * 1024 * 1024
#: A simulated home made for this plan has a gas meter that dropped off its HAN.
GSME_REJOIN_PLAN = "gsme-rejoin"


def read_spec(path: Path) -> dict[str, Any]:
    """A build description from JSON or YAML (by extension)."""
    data = path.read_bytes()
    if len(data) > MAX_SPEC_BYTES:
        raise WorkPackError([f"{path} is over {MAX_SPEC_BYTES} bytes"])
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            spec = yaml.safe_load(data)
        else:
            spec = json.loads(data)
    except ValueError as exc:
        raise WorkPackError([f"{path}: {exc}"]) from None
    except Exception as exc:  # yaml.YAMLError and friends
        raise WorkPackError([f"{path}: not valid YAML ({exc})"]) from None
    if not isinstance(spec, dict):
        raise WorkPackError([f"{path}: the description must be a mapping"])
    return spec


class _MacKeys:
    """Device MAC keys: the simulator's for its devices, a derived one for any other."""

    def __init__(self, han: SimHan) -> None:
        self.han = han

    def device_mac_key(self, eui: str) -> bytes:
        try:
            return self.han.device_mac_key(eui)
        except KeyError:
            return hashlib.sha256(f"hht-unknown-device:{eui.upper()}".encode()).digest()[:16]


@dataclass
class BuiltPack:
    members: dict[str, bytes]
    supplier: Identity
    job_ids: list[str]

    def data(self) -> bytes:
        return write_archive(self.members)


def _steps(job: dict[str, Any], where: str) -> list[Step]:
    if "plan" in job:
        if job["plan"] not in PLANS:
            raise WorkPackError([f"{where}: no plan {job['plan']!r} ({', '.join(PLANS)})"])
        return list(PLANS[job["plan"]])
    names = job.get("steps")
    if not isinstance(names, list) or not names:
        raise WorkPackError([f"{where}: give a plan or a list of steps"])
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise WorkPackError([f"{where}: unknown steps {unknown} (known: {', '.join(STEPS)})"])
    return [STEPS[n] for n in names]


def _devices(
    han: SimHan, dset: dict[str, Any], where: str, seed: int, job: dict[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """The device set, and by role the devices a maintenance visit replaces (their
    replacements are in the set: the ones the installer brings)."""
    if "sim_site" in dset:
        name = str(dset["sim_site"])
        maintenance = job.get("kind") == "maintenance"
        try:
            site = han.site(name)
        except KeyError:
            site = han.add_site(
                name=name,
                seed=seed,
                neighbours=1,
                unknown_networks=1,
                installed=bool(dset.get("installed", maintenance)),
                opens_without_wan=bool(dset.get("opens_without_wan", False)),
                gsme_dropped=bool(dset.get("gsme_dropped", job.get("plan") == GSME_REJOIN_PLAN)),
            )
        devices = device_set_of(site)
        if maintenance and isinstance(job.get("installer_pin"), str):
            # the supplier sets the visit's PIN on the home's meters before the visit
            han.set_installer_pin(site.hub_id, job["installer_pin"])
        replaced = {}
        for role in _replaces(job, where):
            replaced[role] = devices[role]
            devices[role] = han.add_replacement(site.hub_id, role)
        return devices, replaced
    devices = dset.get("devices")
    if not isinstance(devices, dict) or "hub" not in devices:
        raise WorkPackError([f"{where}: give sim_site or devices with a hub"])
    return {k: str(v).upper() for k, v in devices.items()}, {}


def _replaces(job: dict[str, Any], where: str) -> tuple[str, ...]:
    roles = job.get("replaces", REPLACES.get(str(job.get("plan", "")), ()))
    if not isinstance(roles, list | tuple) or any(r not in ("esme", "ihd") for r in roles):
        raise WorkPackError([f"{where}: replaces lists esme and/or ihd"])
    return tuple(roles)


def seal(members: dict[str, bytes], manifest: dict[str, Any], key: Any) -> dict[str, bytes]:
    """Hash ``members`` into ``manifest``, sign it with ``key``, and return the pack's files."""
    manifest = {**manifest, "files": {n: sha256_hex(d) for n, d in sorted(members.items())}}
    manifest_bytes = json.dumps(manifest, indent=1).encode()
    return {
        **members,
        MANIFEST_NAME: manifest_bytes,
        SIGNATURE_NAME: sign_detached(manifest_bytes, key),
    }


def build_pack(
    spec: dict[str, Any], data_dir: Path, *, raw_gbcs: bool = False, now: datetime | None = None
) -> BuiltPack:
    """Build and sign the pack ``spec`` describes (commands as DUIS XML, or raw GBCS hex)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    supplier_spec = spec.get("supplier") or {}
    supplier_eui = eui_text(str(supplier_spec.get("eui", "")))
    if supplier_eui is None:
        raise WorkPackError(["supplier.eui must be the supplier's 16-digit EUI"])
    pki = TestPki.load_or_create(config.ensure_private_dir(data_dir / config.PKI_DIR))
    supplier = pki.load_or_issue(supplier_eui, "ds")
    sim_dir = data_dir / config.SIM_DIR
    try:
        han = SimHan.open(sim_dir)
    except FileNotFoundError:
        han = SimHan.create(sim_dir)
    # a fresh counter space per build: microseconds now, above every earlier build's
    counter = int(spec.get("counter_start") or time.time_ns() // 1000)
    members: dict[str, bytes] = {}
    jobs_out: list[dict[str, Any]] = []
    certs: dict[str, str] = {}
    try:
        keys = _MacKeys(han)
        for j, job in enumerate(spec.get("jobs") or [], 1):
            where = f"job {job.get('id', j)}"
            steps = _steps(job, where)
            sets_out = []
            srs = []
            for k, dset in enumerate(job.get("device_sets") or [], 1):
                devices, replaced = _devices(
                    han, dset, f"{where}, device set {k}", j * 100 + k, job
                )
                srs, built = service_requests_for(
                    keys, supplier, devices, steps, counter, now, replaced
                )
                counter += len(steps)
                lists = []
                for sr, cmds in zip(srs, built.commands, strict=True):
                    names = []
                    for cmd in cmds:
                        stem = f"{job['id']}-{k}-{len(members) + 1:04d}"
                        if raw_gbcs:
                            name = f"gbcs/{stem}.hex"
                            members[name] = cmd.raw.hex().encode()
                        else:
                            name = f"duis/{stem}.xml"
                            members[name] = build_local_command(
                                cmd.duis_request_id,
                                sr.service_reference,
                                sr.service_reference_variant,
                                cmd.raw,
                                now.isoformat().replace("+00:00", "Z"),
                            )
                        names.append(name)
                    lists.append(names)
                for eui in set(devices.values()):
                    with contextlib.suppress(KeyError):
                        certs[eui] = han.device_certificate_pem(eui).decode()
                sets_out.append(
                    {"label": dset.get("label", ""), "devices": devices, "commands": lists}
                )
            job_out = {
                key: job[key]
                for key in ("id", "site", "address", "mpxn", "appointment", "assignee")
                if key in job
            }
            job_out["appointment"] = str(job_out.get("appointment", now.date().isoformat()))
            if "hub_install" in job:
                job_out["hub_install"] = job["hub_install"]
            for key in ("kind", "installer_pin"):
                if key in job:
                    job_out[key] = job[key]
            job_out["service_requests"] = [
                {
                    "service_reference": sr.service_reference,
                    "service_reference_variant": sr.service_reference_variant,
                    "use_case": sr.use_case,
                    "title": sr.title,
                    "command_variant": sr.command_variant,
                }
                for sr in srs
            ]
            job_out["device_sets"] = sets_out
            jobs_out.append(job_out)
    finally:
        han.close()
    for eui, pem in sorted(certs.items()):
        members[f"certs/{eui}.pem"] = pem.encode()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "pack_id": str(spec.get("pack_id") or f"WP-{now:%Y%m%d%H%M%S}"),
        "created_at": now.isoformat(),
        "supplier": {"eui": supplier_eui, "name": str(supplier_spec.get("name", ""))},
        "device_certificates": {eui: f"certs/{eui}.pem" for eui in sorted(certs)},
        "jobs": jobs_out,
    }
    if "return_requests" in spec:
        manifest["return_requests"] = spec["return_requests"]
    return BuiltPack(
        seal(members, manifest, supplier.private_key), supplier, [j["id"] for j in jobs_out]
    )
