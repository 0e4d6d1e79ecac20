"""Every write of the enterprise register (streets, grids, parks, firms, register imports):
`do_<verb>(*, actor, ...)`, atomic and audited."""

import hashlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors import hooks
from contractors.register.files import Reference, RegisterFileError, read_register, validate_rows
from contractors.register.models import Firm, Grid, Park, RegisterImport, Street
from portal.services import record_audit_event

# Also keeps `uscc__in` under SQLite's limit on query variables.
BATCH_SIZE = 500


@dataclass
class ImportReport:
    """What a register import did (with dry_run: would do) and the errors that blocked rows."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)
    committed: bool = False

    def as_dict(self):
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
        }


@transaction.atomic
def do_import_register(*, actor, bureau, content, filename, dry_run, valid_only=False):
    """Upsert the firms of a register file into `bureau`'s register by credit code.

    Any error leaves the register untouched and the counts at zero, unless `valid_only`: then
    the valid rows are written and the errors still reported. `dry_run` computes the same
    report without writing (so a preview of the valid rows alone passes `valid_only=True`).
    """
    try:
        table = read_register(content, filename)
    except RegisterFileError as error:
        return ImportReport(errors=error.errors)
    reference = _reference_of(bureau)
    rows, errors = validate_rows(table, reference)
    if errors and not valid_only:
        return ImportReport(errors=errors)
    new, changed, fields, unchanged = _plan(bureau, rows, reference)
    report = ImportReport(
        created=len(new),
        updated=len(changed),
        unchanged=unchanged,
        errors=errors,
        committed=not dry_run,
    )
    if dry_run or not (new or changed):
        return report
    _write(new, changed, fields)
    record_audit_event(
        actor=actor,
        bureau=bureau,
        action="register.import",
        detail={
            "filename": filename,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "errors": len(errors),
            "valid_only": valid_only,
        },
    )
    return report


def _reference_of(bureau):
    return Reference.build(
        streets=list(Street.objects.filter(bureau=bureau)),
        grids=list(Grid.objects.filter(street__bureau=bureau)),
        parks=list(Park.objects.filter(bureau=bureau)),
    )


def _plan(bureau, rows, reference):
    """(new firms, changed firms, the fields that changed, number of unchanged firms)."""
    existing = _existing_firms(bureau, [values["uscc"] for _row, values in rows])
    new, changed, fields, unchanged = [], [], set(), 0
    for _row, values in rows:
        firm = existing.get(values["uscc"])
        if firm is None:
            new.append(Firm(bureau=bureau, **values))
            continue
        differing = _apply(firm, values, reference)
        if differing:
            changed.append(firm)
            fields |= differing
        else:
            unchanged += 1
    return new, changed, fields, unchanged


def _existing_firms(bureau, codes):
    firms = {}
    for start in range(0, len(codes), BATCH_SIZE):
        chunk = codes[start : start + BATCH_SIZE]
        firms.update(
            (firm.uscc, firm) for firm in Firm.objects.filter(bureau=bureau, uscc__in=chunk)
        )
    return firms


def _apply(firm, values, reference):
    """Copy `values` onto `firm`; the names of the fields that differed."""
    street_id = values["street"].pk
    if "grid" not in values and reference.grid_streets.get(firm.grid_id, street_id) != street_id:
        # A file without a grid column may move a firm to another street: the old grid would
        # then point into the wrong street.
        values = {**values, "grid": None}
    differing = set()
    for name, value in values.items():
        attname = Firm._meta.get_field(name).attname
        if getattr(firm, attname) != getattr(value, "pk", value):
            setattr(firm, name, value)
            differing.add(name)
    return differing


def _write(new, changed, fields):
    Firm.objects.bulk_create(new, batch_size=BATCH_SIZE)
    if changed:
        _update(changed, fields)
    if fields & {"street", "park"}:
        # Counted by street and park: a moved firm's days are recounted.
        hooks.firms_moved.fire(firm_ids=[firm.pk for firm in changed])


def _update(changed, fields):
    Firm.objects.bulk_update(changed, sorted(fields), batch_size=BATCH_SIZE)
    # bulk_update bypasses save(), so auto_now does not fire; a plain UPDATE per batch is also
    # much cheaper than bulk_update's per-row CASE for a value every row shares.
    now = timezone.now()
    for start in range(0, len(changed), BATCH_SIZE):
        batch = [firm.pk for firm in changed[start : start + BATCH_SIZE]]
        Firm.objects.filter(pk__in=batch).update(updated_at=now)


def _register_import_path(bureau, register_import, filename):
    suffix = PurePosixPath(filename).suffix.lower()[:8]
    return f"bureau/{bureau.pk}/register-imports/{register_import.pk}{suffix}"


@transaction.atomic
def do_preview_register_import(*, actor, bureau, filename, content):
    """Keep the uploaded file and what importing it would do, for the admin to confirm.

    The preview counts the valid rows even when some rows are bad, so the admin can choose to
    import only those."""
    report = do_import_register(
        actor=actor,
        bureau=bureau,
        content=content,
        filename=filename,
        dry_run=True,
        valid_only=True,
    )
    register_import = RegisterImport(
        bureau=bureau,
        uploaded_by=actor,
        filename=PurePosixPath(filename).name[:255],
        sha256=hashlib.sha256(content).hexdigest(),
        result=report.as_dict(),
    )
    register_import.file.save(
        _register_import_path(bureau, register_import, filename), ContentFile(content), save=False
    )
    # A failed insert must not leave an orphan file behind.
    try:
        register_import.save()
    except Exception:
        register_import.file.delete(save=False)
        raise
    record_audit_event(
        actor=actor,
        bureau=bureau,
        action="register.import_preview",
        target=register_import,
        detail={"filename": register_import.filename, "errors": len(report.errors)},
    )
    return register_import


@transaction.atomic
def do_commit_register_import(*, actor, register_import, valid_only=False):
    """Import a previewed file for real; the register may have changed since the preview, so the
    report is computed again."""
    register_import = RegisterImport.objects.select_for_update().get(pk=register_import.pk)
    if register_import.status == RegisterImport.Status.COMMITTED:
        raise ValidationError(_("该文件已经导入，不能重复导入。"))
    with register_import.file.open("rb") as stored:
        content = stored.read()
    report = do_import_register(
        actor=actor,
        bureau=register_import.bureau,
        content=content,
        filename=register_import.filename,
        dry_run=False,
        valid_only=valid_only,
    )
    register_import.result = report.as_dict()
    if report.committed:
        register_import.status = RegisterImport.Status.COMMITTED
    register_import.save(update_fields=["result", "status"])
    return report
