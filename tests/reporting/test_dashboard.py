"""The dashboard pages: the bureau's, the agency manager's and the firm's own summary."""

import json
import re
from datetime import date, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from contractors.hazards.models import HazardLevel
from documents.models import Document
from reporting.figures import do_refresh_figures
from tests.reporting.test_stats import FIRE, OPEN, OTHER, OVERDUE, PRODUCTION, VERIFIED, Work, local

PERIOD = {"from": "2021-01-01", "to": "2021-06-30"}


@pytest.fixture
def work(cast):
    return Work(cast)


def add_work(work, cast, *, firms=3, street=None, park=None, agency=None, month=3):
    """Inspections of `firms` new firms in 2021 with a verified, an open and an overdue hazard
    each, and a signed order for each."""
    new = work.firms(firms, street=street, park=park)
    inspections = work.inspections(new, on=date(2021, month, 10), agency=agency)
    work.hazards(
        inspections,
        (firms, FIRE, VERIFIED),
        (firms, PRODUCTION, OPEN, HazardLevel.MAJOR),
        (firms, OTHER, OVERDUE),
        deadline=date(2021, month, 20),
    )
    work.documents(inspections, firms, approved_at=local(2021, month, 12, 10))
    return inspections


def page(client, **params):
    return client.get(reverse("dashboard"), params)


def links_in(content):
    return [unescape(href) for href in re.findall(r'href="([^"]+)"', content)]


def query_of(link):
    return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


def test_the_bureau_sees_the_figures_the_sentence_and_every_breakdown(work, cast, client_for):
    add_work(work, cast, firms=3, street=cast.register.changshou, park=cast.register.park)
    add_work(work, cast, firms=2, street=cast.register.taopu, agency=cast.agency_b, month=5)

    response = page(client_for(cast.reviewer), **PERIOD)

    assert response.status_code == 200
    content = response.content.decode()
    assert (
        "截至6月底，全区共监督检查各类企业5家，发现事故隐患15项（其中：生产安全隐患5项，"
        "消防安全隐患5项，特种设备安全隐患0项，职业健康安全0项，其他隐患5项），"
        "已完成隐患整改5项，整改率33.33%；共发出各类法律文书5份。"
    ) in content
    for words in ("长寿路街道", "桃浦镇", "铁三角工业园区", "园区外企业", "2021年3月", "2021年6月"):
        assert words in content
    for agency in (cast.agency_a, cast.agency_b):
        assert agency.name in content
    # The overdue hazards are listed, the longest overdue first.
    overdue = content[content.index("逾期未整改隐患") :]
    assert overdue.index("统计企业100001") < overdue.index("统计企业100004")
    assert f"{(timezone.localdate() - date(2021, 3, 20)).days} 天" in overdue


def test_every_figure_links_to_the_list_behind_it(work, cast, client_for):
    add_work(work, cast, firms=2, street=cast.register.taopu)
    content = page(client_for(cast.admin), **PERIOD).content.decode()
    links = links_in(content)
    hazard_list = reverse("contractors:hazard_list")

    overdue = [link for link in links if query_of(link).get("status") == "overdue"]
    assert overdue and all(link.startswith(hazard_list) for link in overdue)
    assert {"from": "2021-01-01", "to": "2021-06-30", "status": "overdue"}.items() <= query_of(
        overdue[0]
    ).items()
    taopu = str(cast.register.taopu.pk)
    street_links = [link for link in links if query_of(link).get("street") == taopu]
    assert any(link.startswith(reverse("contractors:inspection_list")) for link in street_links)
    assert any(query_of(link).get("status") == "verified" for link in street_links)
    assert any(
        query_of(link).get("category") == "fire" and link.startswith(hazard_list) for link in links
    )
    documents = [
        link for link in links if link.startswith(f"{reverse('documents:document_list')}?")
    ]
    assert documents and query_of(documents[0])["status"] == Document.Status.APPROVED
    months = [link for link in links if query_of(link).get("from") == "2021-03-01"]
    assert query_of(months[0])["to"] == "2021-03-31"
    assigned = f"{reverse('contractors:firm_list')}?agency={cast.agency_a.pk}"
    assert assigned in links


def count_on(client, link):
    """The total a list page states ("共 N 项隐患" and the like)."""
    content = client.get(link).content.decode()
    return int(re.search(r"共 (\d+) (?:项隐患|次检查|份文书)", content).group(1))


def test_the_lists_behind_the_figures_count_the_same(work, cast, client_for):
    add_work(work, cast, firms=3, street=cast.register.changshou, park=cast.register.park)
    add_work(work, cast, firms=2, street=cast.register.taopu, agency=cast.agency_b, month=5)
    add_work(work, cast, firms=4, month=8)  # outside the period: never counted
    client = client_for(cast.reviewer)
    links = links_in(page(client, **PERIOD).content.decode())

    def link(target, **wanted):
        return next(
            found
            for found in links
            if found.startswith(reverse(target)) and query_of(found) == {**PERIOD, **wanted}
        )

    hazards = "contractors:hazard_list"
    assert count_on(client, link(hazards)) == 15
    assert count_on(client, link(hazards, status="verified")) == 5
    assert count_on(client, link(hazards, level="major")) == 5
    assert count_on(client, link(hazards, category="fire")) == 5
    assert count_on(client, link(hazards, street=str(cast.register.taopu.pk))) == 6
    assert count_on(client, link(hazards, agency=str(cast.agency_b.pk))) == 6
    assert count_on(client, link(hazards, park=str(cast.register.park.pk))) == 9
    assert count_on(client, link("contractors:inspection_list")) == 5
    assert count_on(client, link("documents:document_list", status="approved")) == 5


def test_the_charts_get_their_figures_and_a_locally_served_library(work, cast, client_for):
    add_work(work, cast, firms=2)
    content = page(client_for(cast.admin), **PERIOD).content.decode()

    embedded = re.search(
        r'<script id="dashboard-charts" type="application/json">(.*?)</script>', content, re.S
    )
    charts = json.loads(embedded.group(1))
    assert charts["categories"]["labels"][:2] == ["生产安全", "消防安全"]
    assert charts["categories"]["datasets"][0]["data"] == [2, 2, 0, 0, 2]
    assert charts["streets"]["labels"] == ["长寿路街道", "桃浦镇"]
    assert charts["months"]["datasets"][0]["data"][2] == 2  # inspections in March
    for script in ("portal/vendor/chart.umd.min.js", "portal/dashboard.js"):
        assert f'src="/static/{script}"' in content
        assert finders.find(script), script
    assert "//cdn" not in content and "https://" not in content


def test_the_period_form_shows_its_errors_on_the_page(cast, client_for):
    client = client_for(cast.admin)
    response = page(client, **{"from": "2021-06-01", "to": "2021-05-01"})
    assert response.status_code == 400
    assert "结束日期不能早于开始日期" in response.content.decode()

    response = page(client, **{"from": "2021-02-30", "street": "nowhere"})
    content = response.content.decode()
    assert response.status_code == 400
    assert "日期格式不正确" in content and "没有这个街道镇" in content
    assert 'value="2021-02-30"' in content  # the input is kept to correct


def test_the_period_defaults_to_the_year_so_far(work, cast, client_for):
    today = timezone.localdate()
    inspections = work.inspections(work.firms(1), on=today)
    work.hazards(inspections, (4, FIRE, OPEN))
    content = page(client_for(cast.admin)).content.decode()
    assert f'value="{today.year}-01-01"' in content
    assert f'value="{today:%Y-%m-%d}"' in content
    assert f"截至{today.month}月底，全区共监督检查各类企业1家，发现事故隐患4项" in content


def test_filters_narrow_every_figure(work, cast, client_for):
    add_work(work, cast, firms=3, street=cast.register.changshou)
    add_work(work, cast, firms=2, street=cast.register.taopu, agency=cast.agency_b)
    client = client_for(cast.admin)

    by_street = page(client, **PERIOD, street=str(cast.register.taopu.pk)).content.decode()
    assert "截至6月底，桃浦镇共监督检查各类企业2家" in by_street
    assert "长寿路街道" not in by_street.split("各街道镇", 1)[1].split("工业园区")[0]

    by_agency = page(client, **PERIOD, agency=str(cast.agency_a.pk)).content.decode()
    assert "甲安全技术服务有限公司在全区共监督检查各类企业3家" in by_agency
    assert cast.agency_b.name not in by_agency.split("服务机构与合同进度", 1)[1]


def test_an_agency_manager_sees_only_its_own_work(work, cast, client_for):
    add_work(work, cast, firms=3)
    add_work(work, cast, firms=2, street=cast.register.taopu, agency=cast.agency_b)

    content = page(client_for(cast.manager_b), **PERIOD).content.decode()

    assert "乙安全咨询有限公司在全区共监督检查各类企业2家，发现事故隐患6项" in content
    assert cast.agency_a.name not in content
    # Its own overdue hazards, none of agency A's.
    assert "统计企业100004" in content and "统计企业100001" not in content


@pytest.mark.parametrize("who", ["inspector_a1", "firm_user_a", "outsider"])
def test_inspectors_firm_users_and_outsiders_get_no_dashboard(cast, client_for, who):
    assert page(client_for(getattr(cast, who))).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(cast, client_for):
    response = page(client_for(None))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_dashboard_query_count_does_not_grow_with_the_data(
    work, cast, client_for, django_assert_max_num_queries
):
    add_work(work, cast, firms=2)
    do_refresh_figures(bureau=cast.bureau)
    client = client_for(cast.admin)
    with django_assert_max_num_queries(30) as few:
        assert page(client, **PERIOD).status_code == 200

    # Ten times the work, in more streets, parks, agencies and months, with more overdue rows.
    add_work(work, cast, firms=10, street=cast.register.taopu, park=cast.register.park)
    add_work(work, cast, firms=10, agency=cast.agency_b, month=5)
    add_work(work, cast, firms=4, month=1)
    # Recounting the changed days is a fixed number of queries too (test_figures.py).
    do_refresh_figures(bureau=cast.bureau)
    with django_assert_max_num_queries(len(few.captured_queries)):
        content = page(client, **PERIOD).content.decode()
    assert "全区共监督检查各类企业26家" in content


def test_the_firm_sees_a_summary_of_its_own_hazards_and_documents(work, cast, client_for):
    own = work.inspections([cast.firm_a], on=date(2021, 3, 1))
    work.hazards(own, (2, FIRE, VERIFIED), (1, PRODUCTION, OVERDUE), deadline=date(2021, 3, 5))
    work.documents(own, 1, approved_at=local(2021, 3, 2, 9))
    other = work.inspections([cast.firm_b], on=date(2021, 3, 1), agency=cast.agency_b)
    work.hazards(other, (7, FIRE, OPEN))

    response = client_for(cast.firm_user_a).get(reverse("firm-summary"))

    content = response.content.decode()
    assert response.status_code == 200
    assert cast.firm_a.name in content and cast.firm_b.name not in content
    stats = re.findall(r'<div class="stat"><b>(?:<a href="[^"]*">)?([^<]+)', content)
    assert stats[:7] == ["3", "0", "0", "1", "0", "2", "66.67%"]
    assert stats[7:] == ["1", "0", "1"]  # signed, acknowledged, to acknowledge
    assert "2021-03-05" in content  # the overdue hazard to rectify


@pytest.mark.parametrize("who", ["admin", "manager_a", "inspector_a1", "outsider"])
def test_only_firm_users_have_a_firm_summary(cast, client_for, who):
    assert client_for(getattr(cast, who)).get(reverse("firm-summary")).status_code == 403


def test_the_overdue_list_is_capped_and_links_to_the_rest(work, cast, client_for):
    inspections = work.inspections(work.firms(60), on=date(2021, 2, 1))
    work.hazards(inspections, (60, FIRE, OVERDUE), deadline=date(2021, 2, 10))
    content = page(client_for(cast.admin), **PERIOD).content.decode()
    overdue = content[content.index('id="overdue-heading"') :]
    assert len(re.findall(r'href="/hazards/[0-9a-f-]{36}/"', overdue)) == 50
    assert "共 60 项" in overdue and "查看全部" in overdue


def test_the_period_covers_the_first_and_last_day(work, cast, client_for):
    start, end = date(2021, 4, 1), date(2021, 4, 30)
    for day in (start - timedelta(days=1), start, end, end + timedelta(days=1)):
        work.hazards(work.inspections(work.firms(1), on=day), (1, FIRE, OPEN))
    content = page(client_for(cast.admin), **{"from": "2021-04-01", "to": "2021-04-30"})
    assert "全区共监督检查各类企业2家，发现事故隐患2项" in content.content.decode()
