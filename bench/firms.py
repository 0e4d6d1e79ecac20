"""Measurement 1: an agency inspector's firm list, page 1, as the list page reads it through the
real selector and its permissions (`firm_list_page`: the pager's count, then the page's rows),
against the same page of an unscoped `Firm` query."""

from django.core.paginator import Paginator

from bench.harness import compare
from contractors.register.models import Firm
from contractors.register.selectors import firm_list_page
from contractors.register.views import FIRMS_PER_PAGE


def first_page(page):
    return list(page.object_list)


def run(district):
    inspector = district.inspectors[0][0]
    unscoped = Firm.objects.select_related("street", "grid", "park").order_by("name", "uscc")
    return [
        compare(
            "agency inspector's firm list, page 1 (firm_list_page) vs unscoped Firm page",
            scale=f"scale {district.scale:g}",
            action=lambda: first_page(firm_list_page(inspector, number=1, per_page=FIRMS_PER_PAGE)),
            baseline=lambda: first_page(Paginator(unscoped, FIRMS_PER_PAGE).get_page(1)),
            target=1.5,
        )
    ]
