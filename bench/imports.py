"""Measurement 4: importing 5000 register rows through the real import (parsing, checking every
credit code, street, grid and park, matching existing firms, writing, the audit event) against a
bare `bulk_create` of the same 5000 firms. Each run is rolled back, so every run creates the
same 5000 new firms."""

import csv
import io
import random

from django.db import transaction

from bench.harness import compare
from contractors.register.models import Firm, Grid, KeyCategory
from contractors.register.services import do_import_register
from contractors.register.uscc import make_uscc

ROWS = 5000
HEADER = (
    "统一社会信用代码",
    "企业名称",
    "经营地址",
    "所属街道",
    "网格",
    "行业",
    "重点监管类别",
    "法定代表人",
    "联系人",
    "联系电话",
)
# Serials the generator never uses (it draws from 10,000,000 to 89,999,999).
SERIALS = range(95_000_000, 95_000_000 + ROWS)


def new_firms(bureau):
    """ROWS firms not yet on the register: {field: value} each, and the same as a CSV file."""
    rng = random.Random("bench/imports")
    grids = list(Grid.objects.filter(street__bureau=bureau).select_related("street"))
    firms = []
    for serial in SERIALS:
        grid = rng.choice(grids)
        firms.append(
            {
                "uscc": make_uscc(region=bureau.region_code, serial=serial),
                "name": f"上海新登记{serial}贸易有限公司",
                "address": f"上海市普陀区新村路{rng.randint(1, 1999)}号",
                "street": grid.street,
                "grid": grid,
                "industry": "批发和零售业",
                "key_category": KeyCategory.FIRE if rng.random() < 0.05 else KeyCategory.NONE,
                "legal_representative": "张三",
                "contact": "李四",
                "phone": f"139{rng.randrange(10**8):08d}",
            }
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for firm in firms:
        writer.writerow(
            (
                firm["uscc"],
                firm["name"],
                firm["address"],
                firm["street"].name,
                firm["grid"].name,
                firm["industry"],
                "消防" if firm["key_category"] else "",
                firm["legal_representative"],
                firm["contact"],
                firm["phone"],
            )
        )
    return firms, out.getvalue().encode("utf-8")


def run(district):
    bureau = district.bureau
    firms, content = new_firms(bureau)

    def real_import():
        with transaction.atomic():
            report = do_import_register(
                actor=district.admin,
                bureau=bureau,
                content=content,
                filename="register.csv",
                dry_run=False,
            )
            # A refused file would be measured as a fast import.
            assert report.created == ROWS and not report.errors, report.errors[:3]
            transaction.set_rollback(True)

    def bare_bulk_create():
        with transaction.atomic():
            Firm.objects.bulk_create([Firm(bureau=bureau, **values) for values in firms])
            transaction.set_rollback(True)

    return [
        compare(
            "importing 5000 register rows (CSV, do_import_register) vs bare bulk_create",
            scale=f"{ROWS} rows, scale {district.scale:g} register",
            action=real_import,
            baseline=bare_bulk_create,
            target=3,
        )
    ]
