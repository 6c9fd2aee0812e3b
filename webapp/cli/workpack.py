"""``hht supplier`` and ``hht workpack``: trust, build, load, unload, confirm."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import NoReturn

import click

from webapp.cli.common import data_dir_option, json_option, open_store, resolve
from webapp.workpack.errors import WorkPackError


def _refuse(title: str, exc: WorkPackError) -> NoReturn:
    """Stop with ``title`` and each of the problems ``exc`` lists."""
    lines = "\n".join(f"  - {p}" for p in exc.problems)
    raise click.ClickException(f"{title}:\n{lines}")


@click.group()
def supplier() -> None:
    """Suppliers whose work packs this HHT trusts."""


@supplier.command("add")
@data_dir_option
@click.argument("certificate", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--name", required=True, help="The supplier's name, as supervisors will see it.")
@click.option("--eui", default=None, help="The supplier's EUI (if the certificate names none).")
def supplier_add(data_dir: Path | None, certificate: Path, name: str, eui: str | None) -> None:
    """Trust CERTIFICATE (PEM, ECDSA P-256) for a supplier's work packs."""
    from webapp.workpack.trust import add_supplier

    store = open_store(data_dir)
    try:
        with store.write() as db:
            row = add_supplier(db, certificate.read_bytes(), name, eui)
    except WorkPackError as exc:
        _refuse("Certificate not added", exc)
    finally:
        store.close()
    click.echo(f"Trusting {row['name']} ({row['eui']}), certificate valid to {row['not_after']}")


@supplier.command("list")
@data_dir_option
@json_option
def supplier_list(data_dir: Path | None, as_json: bool) -> None:
    """Trusted suppliers and what is waiting to be unloaded for each."""
    from webapp.workpack.unload import waiting_by_supplier

    store = open_store(data_dir)
    db = store.reader()
    waiting = {w["supplier_eui"]: w for w in waiting_by_supplier(db)}
    rows = []
    for row in db.query("SELECT eui, name, not_after, fingerprint FROM suppliers ORDER BY name"):
        w = waiting.get(row["eui"], {})
        rows.append(
            {
                **row,
                "waiting_responses": w.get("responses", 0),
                "waiting_hub_statuses": w.get("hub_statuses", 0),
                "waiting_since": w.get("oldest"),
            }
        )
    store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for r in rows:
        click.echo(
            f"{r['eui']}  {r['name']}  (certificate to {r['not_after'] or '?'})  waiting: "
            f"{r['waiting_responses']} responses, {r['waiting_hub_statuses']} hub statuses"
        )


@click.group()
def workpack() -> None:
    """Work packs: build (test PKI), load, unload, confirm receipt."""


@workpack.command("build")
@data_dir_option
@click.argument("spec", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--raw-gbcs", is_flag=True, help="Carry commands as GBCS hex, not DUIS XML.")
@click.option("--trust", is_flag=True, help="Also trust the (test PKI) supplier on this HHT.")
def workpack_build(
    data_dir: Path | None, spec: Path, out: Path, raw_gbcs: bool, trust: bool
) -> None:
    """Build a signed work pack from SPEC (JSON or YAML) with the project's test PKI."""
    from cryptography.hazmat.primitives import serialization

    from webapp.sim.packs import build_pack, read_spec
    from webapp.workpack.trust import add_supplier

    directory = resolve(data_dir)
    try:
        description = read_spec(spec)
        built = build_pack(description, directory, raw_gbcs=raw_gbcs)
    except WorkPackError as exc:
        _refuse("Cannot build the pack", exc)
    out.write_bytes(built.data())
    pem = built.supplier.certificate.public_bytes(serialization.Encoding.PEM)
    cert_path = out.with_suffix(".supplier.pem")
    cert_path.write_bytes(pem)
    if trust:
        store = open_store(data_dir)
        with store.write() as db:
            add_supplier(db, pem, str(description["supplier"].get("name") or "Test supplier"))
        store.close()
    click.echo(
        f"Wrote {out} ({len(built.job_ids)} jobs); the supplier's certificate is {cert_path}"
    )


@workpack.command("load")
@data_dir_option
@click.argument("pack", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--accept-other-supplier",
    is_flag=True,
    help="Load although another supplier's answers are still waiting to be unloaded.",
)
@json_option
def workpack_load(
    data_dir: Path | None, pack: Path, accept_other_supplier: bool, as_json: bool
) -> None:
    """Verify PACK completely and load its jobs, or load nothing and say why."""
    from webapp.workpack.load import OtherSupplierWaiting, load_pack

    store = open_store(data_dir)
    try:
        result = load_pack(
            store,
            pack.read_bytes(),
            source=pack.name,
            actor="cli",
            accept_other_supplier=accept_other_supplier,
        )
    except OtherSupplierWaiting as exc:
        _refuse("Not loaded (use --accept-other-supplier to load anyway)", exc)
    except WorkPackError as exc:
        _refuse(f"Work pack {pack.name} refused; nothing was loaded", exc)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(vars(result)))
    else:
        click.echo(
            f"Loaded work pack {result.pack_id}: {len(result.job_ids)} jobs, "
            f"{result.commands} commands ({', '.join(result.job_ids)})"
        )


@workpack.command("unload")
@data_dir_option
@click.option("--supplier", "supplier_eui", required=True, help="The supplier's EUI.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def workpack_unload(data_dir: Path | None, supplier_eui: str, out: Path) -> None:
    """Write everything waiting for SUPPLIER as DUIS 8.13/8.14 bodies in a signed zip."""
    from webapp.identity import duis_signing_identity, terminal_identity
    from webapp.workpack.trust import normalise_eui
    from webapp.workpack.unload import make_unload

    directory = resolve(data_dir)
    store = open_store(data_dir)
    try:
        made = make_unload(
            store,
            normalise_eui(supplier_eui, "supplier EUI"),
            terminal_identity(directory),
            actor="cli",
            duis_signer=duis_signing_identity(directory),
        )
    except WorkPackError as exc:
        _refuse("Nothing unloaded", exc)
    finally:
        store.close()
    shutil.copyfile(made.path, out)
    click.echo(
        f"Unload {made.id}: {made.responses} responses and {made.hub_statuses} hub statuses "
        f"in {out}. They stay waiting until you run 'hht workpack confirm {made.id}' once "
        "the back office has them."
    )


@workpack.command("confirm")
@data_dir_option
@click.argument("unload_id", type=int)
def workpack_confirm(data_dir: Path | None, unload_id: int) -> None:
    """The back office has received unload UNLOAD_ID."""
    from webapp.workpack.unload import confirm_received

    store = open_store(data_dir)
    try:
        with store.write() as db:
            count = confirm_received(db, unload_id, "cli")
    except WorkPackError as exc:
        _refuse("Not confirmed", exc)
    finally:
        store.close()
    click.echo(f"Unload {unload_id} confirmed as received ({count} items no longer waiting)")


@click.group()
def survey() -> None:
    """Site survey files (what the installer found on site)."""


@survey.command("verify")
@click.argument("survey_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--fingerprint", default=None, help="The terminal certificate's SHA-256 to trust.")
def survey_verify(survey_file: Path, fingerprint: str | None) -> None:
    """Check SURVEY_FILE's signature and print what it says (for the back office)."""
    from webapp.workpack.survey import verify_survey

    try:
        found = verify_survey(survey_file.read_bytes(), fingerprint)
    except WorkPackError as exc:
        _refuse("Survey not valid", exc)
    click.echo(json.dumps(found, indent=1))
