"""The benchmark harness at a tiny scale: the generator's data is the report's mix and holds
together the way the services would have written it, and `make bench` refuses to run anywhere
but on PostgreSQL."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.db.models import Count, F

from bench import harness
from bench.evidence import MIB, traced_peak_mib
from bench.generate import REPORT_CATEGORIES, REPORT_RECTIFIED, generate, proportional
from contractors.hazards.models import Hazard
from contractors.hazards.selectors import hazards_visible_to
from contractors.inspections.models import Inspection
from contractors.register.selectors import search_firms
from contractors.tenancy.models import Assignment, FirmGroupObjectPermission
from contractors.tenancy.selectors import firms_visible_to
from documents.models import Document, DocumentCounter
from documents.selectors import review_queue
from reporting.forms import Filters, Scope, default_period
from reporting.stats import Statistics

ROOT = Path(__file__).resolve().parents[2]
SCALE = 0.01


@pytest.fixture
def district(db):
    return generate(SCALE)


def test_a_tiny_district_has_the_reports_shape(district):
    assert district.counts["firms"] == 50
    assert district.counts["inspections"] == 270
    assert district.counts["hazards"] == 590
    assert district.counts["documents"] == 150
    assert district.counts["evidence rows"] == 590
    assert district.seconds > 0
    assert "scale 0.01 generated in" in district.describe()
    assert "recounting the statistics tally" in district.describe()


def test_hazards_follow_the_reports_category_mix_and_rectification_rate(district):
    by_category = dict(Hazard.objects.values_list("category").annotate(n=Count("pk")))
    assert by_category == proportional(590, REPORT_CATEGORIES)
    # The fire hazards dominate as in the report (36,140 of 58,851).
    assert max(by_category, key=by_category.get) == "fire"
    verified = Hazard.objects.filter(status=Hazard.Status.VERIFIED).count()
    assert verified == round(590 * REPORT_RECTIFIED / sum(REPORT_CATEGORIES.values()))


def test_the_statistics_count_what_was_generated(district):
    """The rows bypass the services that keep the statistics' tally, so the generator recounts
    it: the reviewer's default period (this year to date) shows every generated row."""
    inspections = Inspection.objects.filter(submitted_at__isnull=False)
    hazards = Hazard.objects.filter(inspection__in=inspections)
    statistics = Statistics(Scope(bureau=district.bureau), Filters(*default_period()))
    totals = statistics.totals
    assert totals["inspections"] == inspections.count() == 270
    assert totals["firms_inspected"] == inspections.values("firm").distinct().count()
    assert totals["hazards"] == hazards.count() == 590
    assert totals["rectified"] == hazards.filter(status=Hazard.Status.VERIFIED).count()
    assert totals["overdue"] == hazards.filter(status=Hazard.Status.OVERDUE).count()
    assert totals["documents_issued"] == (
        Document.objects.filter(status=Document.Status.APPROVED).count()
    )
    by_agency = {
        row["id"]: (row["inspections"], row["firms_inspected"]) for row in statistics.by_agency()
    }
    assert by_agency == {
        row["agency"]: (row["inspections"], row["firms"])
        for row in inspections.values("agency").annotate(
            inspections=Count("pk"), firms=Count("firm", distinct=True)
        )
    }


def test_every_inspection_is_by_the_agency_that_holds_the_firm(district):
    inspections = Inspection.objects.prefetch_related("inspectors__membership")
    for inspection in inspections:
        current = Assignment.objects.get(firm=inspection.firm_id, ended_at__isnull=True)
        assert current.contract_id == inspection.contract_id
        assert inspection.contract.agency_id == inspection.agency_id
        crew = list(inspection.inspectors.all())
        assert len(crew) == 2
        assert {user.membership.agency_id for user in crew} == {inspection.agency_id}
    assert not Hazard.objects.exclude(firm=F("inspection__firm")).exists()


def test_access_comes_from_the_real_permission_rows(district):
    agency = district.agencies[0]
    inspector = district.inspectors[0][0]
    held = Assignment.objects.filter(contract__agency=agency, ended_at__isnull=True)
    assert firms_visible_to(inspector).count() == held.count() > 0
    assert FirmGroupObjectPermission.objects.filter(group=agency.group).count() == 2 * held.count()
    assert search_firms(inspector).count() == held.count()
    assert hazards_visible_to(district.reviewer).count() == 590
    # An inspector of another agency sees none of agency 1's firms.
    other = district.inspectors[1][0]
    assert not firms_visible_to(other).filter(pk__in=held.values("firm")).exists()


def test_documents_are_numbered_without_gaps_and_pending_ones_wait_for_review(district):
    approved = Document.objects.filter(status=Document.Status.APPROVED)
    for counter in DocumentCounter.objects.all():
        sequences = sorted(
            approved.filter(doc_type=counter.doc_type).values_list("sequence", flat=True)
        )
        assert sequences == list(range(1, counter.last_sequence + 1))
    pending = Document.objects.filter(status=Document.Status.PENDING)
    assert pending.exists()
    assert set(pending.values_list("inspection__status", flat=True)) == {"submitted"}
    assert not approved.filter(inspection__status="submitted").exists()
    assert review_queue(district.reviewer).count() == pending.count()
    for document in Document.objects.filter(doc_type="rectification_order"):
        assert {h.inspection_id for h in document.hazards.all()} == {document.inspection_id}
    kinds = Counter(Document.objects.values_list("doc_type", flat=True))
    assert kinds["rectification_order"] > kinds["inspection_record"] > 0


def test_results_carry_the_fields_the_issue_names(db, tmp_path):
    calls = []
    result = harness.compare(
        "tiny", scale="1", action=lambda: calls.append(1), baseline=lambda: None, runs=3
    )
    assert len(calls) == harness.WARM_UP + 3 + 1  # and once more to count its queries
    harness.write([result], directory=tmp_path)
    (row,) = json.loads((tmp_path / "results.json").read_text())
    assert set(row) == {
        "name",
        "scale",
        "median_ms",
        "p95_ms",
        "baseline_median_ms",
        "ratio",
        "target",
        "met",
        "queries",
    }
    assert "| tiny | 1 |" in (tmp_path / "results.md").read_text()


@pytest.mark.parametrize("url", ["", "sqlite:///bench.sqlite3"])
def test_bench_refuses_to_run_without_postgresql(url):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    if url:
        env["DATABASE_URL"] = url
    finished = subprocess.run(
        [sys.executable, "-m", "bench.run"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert finished.returncode != 0
    assert "PostgreSQL" in finished.stderr
    assert "DATABASE_URL" in finished.stderr


def test_the_memory_probe_sees_an_object_read_whole():
    """The evidence measurement's probe would catch a confirmation that reads the object into
    memory instead of streaming it."""

    def streamed():
        for _ in range(20):
            chunk = bytes(MIB)
            del chunk

    assert traced_peak_mib(lambda: bytes(20 * MIB)) >= 20
    assert traced_peak_mib(streamed) < 2
