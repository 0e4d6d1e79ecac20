"""Measurement 1: an agency inspector's firm list, page 1, through the real selector and its
permissions, against the same page of an unscoped `Firm` query."""

from django.core.paginator import Paginator

from bench.harness import compare
from contractors.register.models import Firm
from contractors.register.selectors import search_firms
from contractors.register.views import FIRMS_PER_PAGE


def first_page(firms):
    """Page 1 as the list page reads it: the count for the pager, then the page's rows."""
    page = Paginator(firms, FIRMS_PER_PAGE).get_page(1)
    return list(page.object_list)


def run(district):
    inspector = district.inspectors[0][0]
    unscoped = Firm.objects.select_related("street", "grid", "park").order_by("name", "uscc")
    return [
        compare(
            "agency inspector's firm list, page 1 (search_firms) vs unscoped Firm page",
            scale=f"scale {district.scale:g}",
            action=lambda: first_page(search_firms(inspector)),
            baseline=lambda: first_page(unscoped),
            target=1.5,
        )
    ]
