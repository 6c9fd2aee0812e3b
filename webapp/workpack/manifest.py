"""The work-pack manifest (``manifest.json``): what it must hold, read strictly.

Layout (README, "Work pack format")::

    {"format": "hht-workpack/1", "pack_id": "...", "created_at": "...",
     "supplier": {"eui": "...", "name": "..."},
     "return_requests": {"target": "<DCC EUI>", "counter_start": 1000},   (optional)
     "files": {"duis/0001.xml": "<sha256>", ...},
     "device_certificates": {"<EUI>": "certs/<EUI>.pem", ...},          (optional)
     "jobs": [{"id", "site", "address", "mpxn", "appointment", "assignee",
               "kind": "install" | "maintenance" (optional, install by default),
               "installer_pin": "<4-8 digits>" (optional, maintenance only: a secret),
               "hub_install": {...} (optional, installs only),
               "service_requests": [{"service_reference", "service_reference_variant",
                                     "use_case", "title", "command_variant"}],
               "device_sets": [{"label", "devices": {"hub", "gpf", "chf", "esme", "gsme",
                                "ihd"}, "commands": [["duis/0001.xml"], ...]}]}]}

``commands`` has one list per service request, in order, naming the files that
carry that request's commands for that device set.

The manifest is untrusted until its signature is checked, and it is read before that,
so its size is bounded before anything is done with it: its bytes, how deep it nests
(checked before decoding: the JSON decoder recurses), and how many jobs, service
requests, device sets and command mentions it holds (counted before any is looked at).
A command file carries one command, which is delivered once, so the manifest may name
each command file once only; hence no good pack names more commands than the archive
holds files.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from webapp.gbcs.eui import strict_eui_text
from webapp.workpack.archive import MAX_MEMBERS
from webapp.workpack.jsonlimits import JsonTooDeep, loads_bounded

FORMAT = "hht-workpack/1"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
#: A 500-job pack's manifest is well under 1 MiB.
MAX_MANIFEST_BYTES = 2 * 1024 * 1024
#: The layout above nests 7 levels deep; anything much deeper is not a manifest.
MAX_JSON_DEPTH = 16
MAX_JOBS = 500
MAX_SERVICE_REQUESTS = 5_000  # in the whole pack
MAX_DEVICE_SETS = 2_000  # in the whole pack
#: Command files named, in the whole pack: each file may be named once.
MAX_COMMAND_MENTIONS = MAX_MEMBERS
MAX_TEXT = 200
LOCAL_DELIVERY_VARIANTS = (2, 3, 6, 7)  # DUIS command variants returned for local delivery
COMMAND_FILE = re.compile(r"^(duis/[A-Za-z0-9._-]+\.xml|gbcs/[A-Za-z0-9._-]+\.(hex|bin))$")
CERT_FILE = re.compile(r"^certs/[A-Za-z0-9._-]+\.pem$")
SERVICE_REFERENCE = re.compile(r"^\d{1,2}(\.\d{1,2}){1,3}$")
JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
HUB_INSTALL_KEYS = {"install_type", "chf_location", "aerial_install", "premise_type"}
INSTALL, MAINTENANCE = "install", "maintenance"
JOB_KINDS = (INSTALL, MAINTENANCE)
MIN_PIN_DIGITS, MAX_PIN_DIGITS = 4, 8
VISIT_PIN = re.compile(rf"[0-9]{{{MIN_PIN_DIGITS},{MAX_PIN_DIGITS}}}")


@dataclass
class ManifestJob:
    raw: dict[str, Any]
    service_requests: list[dict[str, Any]] = field(default_factory=list)
    device_sets: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Manifest:
    pack_id: str
    supplier_eui: str
    supplier_name: str
    created_at: str
    files: dict[str, str]
    jobs: list[ManifestJob]
    device_certificates: dict[str, str]
    return_target: str | None
    return_counter_start: int | None


class _Reader:
    """Field access that records a problem instead of raising."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def text(
        self, obj: dict[str, Any], key: str, where: str, *, required: bool = True, limit=MAX_TEXT
    ) -> str:
        value = obj.get(key)
        if value is None or value == "":
            if required:
                self.problems.append(f"{where}: {key} is missing")
            return ""
        if not isinstance(value, str):
            self.problems.append(f"{where}: {key} must be text")
            return ""
        if len(value) > limit:
            self.problems.append(f"{where}: {key} is over {limit} characters")
            return ""
        return value

    def listing(self, obj: dict[str, Any], key: str, where: str) -> list[Any]:
        value = obj.get(key)
        if not isinstance(value, list):
            self.problems.append(f"{where}: {key} must be a list")
            return []
        return value

    def mapping(self, obj: Any, where: str) -> dict[str, Any]:
        if not isinstance(obj, dict):
            self.problems.append(f"{where}: must be an object")
            return {}
        return obj

    def eui(self, value: Any, where: str) -> str:
        text = strict_eui_text(value)
        if text is None:
            self.problems.append(f"{where}: {str(value)[:40]!r} is not a 16-digit hex EUI")
            return ""
        return text


def _items(value: Any, key: str) -> list[Any]:
    """``value[key]`` when ``value`` is an object holding a list there, else nothing."""
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, list) else []


def _mentions(jobs: list[Any]) -> list[str]:
    """Every command file name the jobs mention, in order, repeats included."""
    names: list[str] = []
    for job in jobs:
        for dset in _items(job, "device_sets"):
            for names_of_request in _items(dset, "commands"):
                if isinstance(names_of_request, list):
                    names.extend(n for n in names_of_request if isinstance(n, str))
    return names


def _size_problems(jobs: list[Any]) -> list[str]:
    """The pack's size against its caps, counted before anything in it is looked at."""
    counts = {
        "jobs": (len(jobs), MAX_JOBS),
        "service requests": (
            sum(len(_items(job, "service_requests")) for job in jobs),
            MAX_SERVICE_REQUESTS,
        ),
        "device sets": (sum(len(_items(job, "device_sets")) for job in jobs), MAX_DEVICE_SETS),
        "command files named": (len(_mentions(jobs)), MAX_COMMAND_MENTIONS),
    }
    return [
        f"{MANIFEST_NAME}: {count} {what}; the limit is {limit}"
        for what, (count, limit) in counts.items()
        if count > limit
    ]


def _named_twice(jobs: list[Any]) -> list[str]:
    return [
        f"{MANIFEST_NAME}: {name[:60]} is named {count} times; a command file carries one "
        "command, delivered once, so name it once"
        for name, count in Counter(_mentions(jobs)).items()
        if count > 1
    ]


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice")
        out[key] = value
    return out


def _service_requests(r: _Reader, job: dict[str, Any], where: str) -> list[dict[str, Any]]:
    out = []
    for n, item in enumerate(r.listing(job, "service_requests", where), 1):
        at = f"{where}, service request {n}"
        sr = r.mapping(item, at)
        ref = r.text(sr, "service_reference", at, limit=12)
        if ref and not SERVICE_REFERENCE.match(ref):
            r.problems.append(f"{at}: service_reference {ref!r} is not like 8.11")
        variant = r.text(sr, "service_reference_variant", at, required=False, limit=12) or ref
        if variant and not SERVICE_REFERENCE.match(variant):
            r.problems.append(f"{at}: service_reference_variant {variant!r} is not like 8.7.1")
        cv = sr.get("command_variant")
        if cv not in LOCAL_DELIVERY_VARIANTS or isinstance(cv, bool):
            r.problems.append(
                f"{at}: command_variant {cv!r} is not one returned for local delivery "
                f"({', '.join(map(str, LOCAL_DELIVERY_VARIANTS))})"
            )
        out.append(
            {
                "service_reference": ref,
                "service_reference_variant": variant,
                "use_case": r.text(sr, "use_case", at, limit=20),
                "title": r.text(sr, "title", at, required=False) or ref,
                "command_variant": cv if isinstance(cv, int) else 0,
            }
        )
    return out


def _device_sets(
    r: _Reader, job: dict[str, Any], where: str, files: dict[str, str], n_srs: int
) -> list[dict[str, Any]]:
    out = []
    for n, item in enumerate(r.listing(job, "device_sets", where), 1):
        dset = r.mapping(item, f"{where}, device set {n}")
        label = r.text(dset, "label", f"{where}, device set {n}", required=False, limit=8)
        at = f"{where}, device set {label or n}"
        devices = {}
        for role, eui in r.mapping(dset.get("devices"), f"{at}, devices").items():
            devices[role] = r.eui(eui, f"{at}, {role}")
        commands = r.listing(dset, "commands", at)
        if len(commands) != n_srs:
            r.problems.append(
                f"{at}: has command lists for {len(commands)} service requests; the job has {n_srs}"
            )
        lists = []
        for k, names in enumerate(commands, 1):
            if not isinstance(names, list) or not names:
                r.problems.append(f"{at}, service request {k}: give a list of command files")
                lists.append([])
                continue
            for name in names:
                if not isinstance(name, str) or not COMMAND_FILE.match(name):
                    r.problems.append(
                        f"{at}, service request {k}: {str(name)[:60]!r} is not a command file "
                        "(duis/*.xml, gbcs/*.hex or gbcs/*.bin)"
                    )
                elif name not in files:
                    r.problems.append(f"{at}, service request {k}: {name} is not in files")
            lists.append([x for x in names if isinstance(x, str)])
        out.append({"label": label, "devices": devices, "commands": lists})
    return out


def _kind(r: _Reader, job: dict[str, Any], where: str) -> str:
    """The job's kind (install unless said), and its visit PIN checked without ever
    quoting it: the PIN is a secret."""
    kind = job.get("kind", INSTALL)
    if kind not in JOB_KINDS:
        r.problems.append(f"{where}: kind must be one of {', '.join(JOB_KINDS)}")
        kind = INSTALL
    if "installer_pin" in job:
        pin = job["installer_pin"]
        if kind != MAINTENANCE:
            r.problems.append(f"{where}: installer_pin is for a maintenance visit only")
        elif not isinstance(pin, str) or not VISIT_PIN.fullmatch(pin):
            r.problems.append(
                f"{where}: installer_pin must be {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits "
                "(the value is not shown: it is a secret)"
            )
    return str(kind)


def _job(r: _Reader, item: Any, n: int, files: dict[str, str]) -> ManifestJob:
    job = r.mapping(item, f"job {n}")
    job_id = r.text(job, "id", f"job {n}", limit=64)
    where = f"job {job_id or n}"
    if job_id and not JOB_ID.match(job_id):
        r.problems.append(f"{where}: the id may hold only letters, digits and . _ : -")
    for key in ("site", "address"):
        r.text(job, key, where)
    mpxn = r.text(job, "mpxn", where, limit=13)
    if mpxn and not mpxn.isdigit():
        r.problems.append(f"{where}: mpxn must be digits")
    appointment = r.text(job, "appointment", where, limit=10)
    if appointment:
        try:
            date.fromisoformat(appointment)
        except ValueError:
            r.problems.append(f"{where}: appointment {appointment!r} is not a date (YYYY-MM-DD)")
    r.text(job, "assignee", where, required=False, limit=40)
    kind = _kind(r, job, where)
    hub_install = job.get("hub_install")
    if hub_install is not None and kind == MAINTENANCE:
        r.problems.append(
            f"{where}: a maintenance visit carries no hub_install (the hub is already installed)"
        )
    if hub_install is not None:
        extra = set(r.mapping(hub_install, f"{where}, hub_install")) - HUB_INSTALL_KEYS
        if extra:
            r.problems.append(f"{where}, hub_install: unknown fields {', '.join(sorted(extra))}")
    srs = _service_requests(r, job, where)
    sets = _device_sets(r, job, where, files, len(srs))
    return ManifestJob(job, srs, sets)


def parse_manifest(data: bytes) -> tuple[Manifest | None, list[str]]:
    """The manifest and every problem with it; None when it cannot be read at all."""
    if len(data) > MAX_MANIFEST_BYTES:
        return None, [f"{MANIFEST_NAME} is over {MAX_MANIFEST_BYTES} bytes"]
    try:
        doc = loads_bounded(data, MAX_JSON_DEPTH, object_pairs_hook=_no_duplicate_keys)
    except JsonTooDeep as exc:
        return None, [f"{MANIFEST_NAME} is refused: {exc} (the limit is {MAX_JSON_DEPTH})"]
    except (UnicodeDecodeError, ValueError) as exc:
        return None, [f"{MANIFEST_NAME} is not valid JSON: {str(exc)[:200]}"]
    r = _Reader()
    doc = r.mapping(doc, MANIFEST_NAME)
    if doc.get("format") != FORMAT:
        found = doc.get("format")
        return None, [f"{MANIFEST_NAME}: format must be {FORMAT!r}, not {str(found)[:40]!r}"]
    too_big = _size_problems(_items(doc, "jobs"))
    if too_big:
        return None, too_big
    pack_id = r.text(doc, "pack_id", MANIFEST_NAME, limit=64)
    supplier = r.mapping(doc.get("supplier"), f"{MANIFEST_NAME}, supplier")
    supplier_eui = r.eui(supplier.get("eui"), f"{MANIFEST_NAME}, supplier eui")
    files: dict[str, str] = {}
    for name, digest in r.mapping(doc.get("files"), f"{MANIFEST_NAME}, files").items():
        if not (COMMAND_FILE.match(name) or CERT_FILE.match(name)):
            r.problems.append(f"{MANIFEST_NAME}, files: {name[:60]!r} is not an allowed name")
        elif not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            r.problems.append(f"{MANIFEST_NAME}, files: {name} needs a lower-case SHA-256")
        else:
            files[name] = digest
    certs: dict[str, str] = {}
    for eui, name in r.mapping(doc.get("device_certificates", {}), "device_certificates").items():
        key = r.eui(eui, "device_certificates")
        if not isinstance(name, str) or not CERT_FILE.match(name) or name not in files:
            r.problems.append(
                f"device_certificates: {str(name)[:60]!r} is not a listed certs/ file"
            )
        elif key:
            certs[key] = name
    target, counter_start = None, None
    if "return_requests" in doc:
        ret = r.mapping(doc["return_requests"], "return_requests")
        target = r.eui(ret.get("target"), "return_requests target") or None
        counter_start = ret.get("counter_start")
        if not isinstance(counter_start, int) or not 0 <= counter_start < 2**63:
            r.problems.append("return_requests: counter_start must be a whole number")
            counter_start = None
    raw_jobs = r.listing(doc, "jobs", MANIFEST_NAME)
    if not raw_jobs:
        r.problems.append(f"{MANIFEST_NAME}: no jobs")
    r.problems.extend(_named_twice(raw_jobs))
    jobs = [_job(r, item, n, files) for n, item in enumerate(raw_jobs, 1)]
    manifest = Manifest(
        pack_id=pack_id,
        supplier_eui=supplier_eui,
        supplier_name=str(supplier.get("name") or "")[:MAX_TEXT],
        created_at=str(doc.get("created_at") or "")[:40],
        files=files,
        jobs=jobs,
        device_certificates=certs,
        return_target=target,
        return_counter_start=counter_start,
    )
    return manifest, r.problems
