"""Measurement 5: assigning 5000 firms to a contract through the real service, permission rows
included. The firms are taken from the agency that holds them, as when a district re-tenders
part of its work: their assignments end, that agency's permission rows go, the new agency's
come, with an audit event per firm. Each run is rolled back (to a savepoint)."""

from datetime import date

from django.db import transaction

from bench.harness import measure
from contractors.register.models import Firm
from contractors.register.uscc import make_uscc
from contractors.tenancy.models import Assignment
from contractors.tenancy.services import do_assign_firms, do_create_agency, do_create_contract

FIRMS = 5000


def run(district):
    # The new agency and its contract go too: the database is left as it was found.
    with transaction.atomic():
        results = _measured(district)
        transaction.set_rollback(True)
    return results


def _measured(district):
    bureau = district.bureau
    agency = do_create_agency(
        actor=None,
        bureau=bureau,
        name="基准新中标安全技术服务有限公司",
        uscc=make_uscc(region=bureau.region_code, serial=98_000_001),
    )
    year = district.contracts[0].period_start.year
    contract = do_create_contract(
        actor=None,
        bureau=bureau,
        agency=agency,
        period_start=date(year, 1, 1),
        period_end=date(year, 12, 31),
        quota=FIRMS,
    )
    moving = list(
        Assignment.objects.filter(contract=district.contracts[0], ended_at__isnull=True)
        .order_by("firm__uscc")
        .values_list("firm_id", flat=True)[:FIRMS]
    )

    def assign():
        with transaction.atomic():
            result = do_assign_firms(
                actor=district.admin, contract=contract, firms=Firm.objects.filter(pk__in=moving)
            )
            assert result.assigned == result.moved == len(moving) == FIRMS, result
            transaction.set_rollback(True)

    return [
        measure(
            "assigning 5000 firms to a contract, moved from another agency (do_assign_firms)",
            scale=f"{FIRMS} firms, scale {district.scale:g} register",
            action=assign,
        )
    ]
