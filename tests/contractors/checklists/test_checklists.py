"""Checklists (issue 4): the shipped default, its versions, and the admin that keeps a version
an inspection has used exactly as that inspection saw it."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from contractors.checklists.models import Checklist, ChecklistItem
from contractors.checklists.selectors import current_checklist
from contractors.checklists.services import do_copy_checklist_version, do_install_default_checklist
from contractors.hazards.models import HazardCategory
from contractors.inspections.selectors import checklist_with_answers
from portal.models import AuditEvent, Bureau, User
from tests.contractors.inspections.test_inspections import start_inspection

# A law's title in book-title marks, optionally followed by its article: 《…》第…条.
LEGAL_BASIS = re.compile(r"《[^》]+》(第[一二三四五六七八九十百零]+条)?")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", password="root-pass-2021")


def install(bureau):
    return do_install_default_checklist(actor=None, bureau=bureau)


def test_the_default_checklist_has_real_items_in_all_five_categories(bureau):
    checklist = install(bureau)
    items = list(checklist.items.order_by("position"))

    assert checklist.version == 1
    assert checklist.is_current
    assert current_checklist(bureau) == checklist
    assert len(items) >= 30
    assert {item.category for item in items} == set(HazardCategory.values)
    assert [item.position for item in items] == list(range(1, len(items) + 1))
    for item in items:
        assert LEGAL_BASIS.match(item.legal_basis), item.legal_basis
        assert item.text and item.requirement
    assert AuditEvent.objects.filter(action="checklist.installed").count() == 1


def test_the_default_checklist_cites_the_laws_of_the_job(bureau):
    cited = " ".join(install(bureau).items.values_list("legal_basis", flat=True))

    for law in [
        "《中华人民共和国安全生产法》第四十一条",
        "《中华人民共和国消防法》第十六条",
        "《中华人民共和国特种设备安全法》",
        "《中华人民共和国职业病防治法》",
        "《工贸企业有限空间作业安全规定》",
        "《危险化学品安全管理条例》",
        "《工贸企业粉尘防爆安全规定》",
        "《生产经营单位安全培训规定》",
        "《机关、团体、企业、事业单位消防安全管理规定》",
    ]:
        assert law in cited


def test_installing_again_changes_nothing(bureau):
    first = install(bureau)

    assert install(bureau) == first
    assert Checklist.objects.count() == 1
    assert AuditEvent.objects.filter(action="checklist.installed").count() == 1


def test_installing_over_an_edited_version_makes_the_default_current_again(bureau):
    first = install(bureau)
    copy = do_copy_checklist_version(actor=None, checklist=first)
    copy.items.filter(position=1).update(text="本局自定的检查内容")

    again = install(bureau)

    assert again.version == 3
    assert current_checklist(bureau) == again
    assert again.items.get(position=1).text == first.items.get(position=1).text


def test_each_bureau_has_its_own_checklist(bureau):
    other = Bureau.objects.create(
        name="上海市静安区应急管理局", short_name="静", region_code="310106"
    )

    ours, theirs = install(bureau), install(other)

    assert ours != theirs
    assert current_checklist(bureau) == ours and current_checklist(other) == theirs


def test_a_copy_is_the_next_version_and_becomes_current(bureau, superuser):
    first = install(bureau)

    copy = do_copy_checklist_version(actor=superuser, checklist=first)

    first.refresh_from_db()
    assert (copy.name, copy.version, copy.is_current) == (first.name, 2, True)
    assert not first.is_current
    assert list(copy.items.values_list("position", "category", "text", "legal_basis")) == list(
        first.items.values_list("position", "category", "text", "legal_basis")
    )
    event = AuditEvent.objects.get(action="checklist.copied")
    assert (event.actor, event.detail["copied_version"]) == (superuser, 1)


def test_an_inspection_keeps_the_version_it_used(cast):
    first = install(cast.bureau)
    old = start_inspection(cast)
    copy = do_copy_checklist_version(actor=cast.admin, checklist=first)
    copy.items.filter(position=1).update(text="新版第一项")
    ChecklistItem.objects.create(
        checklist=copy,
        position=copy.items.count() + 1,
        category=HazardCategory.OTHER,
        text="新增项",
        legal_basis="《中华人民共和国安全生产法》",
        requirement="按规定整改",
    )

    new = start_inspection(cast)
    old.refresh_from_db()

    assert (old.checklist, old.checklist.version) == (first, 1)
    assert (new.checklist, new.checklist.version) == (copy, 2)
    old_items = list(checklist_with_answers(old))
    assert len(old_items) == first.items.count()
    assert old_items[0].text != "新版第一项"
    assert len(checklist_with_answers(new)) == len(old_items) + 1


def test_the_install_checklist_command(bureau):
    output = StringIO()

    call_command("install_checklist", "--bureau", bureau.region_code, stdout=output)
    call_command("install_checklist", stdout=StringIO())

    assert "第1版" in output.getvalue()
    assert Checklist.objects.get().items.count() >= 30
    with pytest.raises(CommandError, match="310199"):
        call_command("install_checklist", "--bureau", "310199")


def test_the_install_checklist_command_needs_a_bureau(db):
    with pytest.raises(CommandError, match="还没有应急管理局"):
        call_command("install_checklist")


def test_seed_demo_installs_the_default_checklist(db):
    call_command("seed_demo", "--firms", "30", stdout=StringIO())

    checklist = Checklist.objects.get()
    assert checklist.is_current
    assert checklist.items.count() >= 30


# --- The admin ---------------------------------------------------------------------------------


def test_a_used_checklist_is_read_only_in_the_admin(cast, client, superuser):
    used = install(cast.bureau)
    start_inspection(cast)
    unused = do_copy_checklist_version(actor=superuser, checklist=used)
    client.force_login(superuser)
    change = "admin:contractors_checklist_change"

    read_only = client.get(reverse(change, args=[used.pk]))
    editable = client.get(reverse(change, args=[unused.pk]))
    refused = client.post(reverse(change, args=[used.pk]), {"name": "改名"})

    assert read_only.status_code == 200
    assert 'name="_save"' not in read_only.content.decode()
    assert 'name="_save"' in editable.content.decode()
    assert refused.status_code == 403
    used.refresh_from_db()
    assert used.name != "改名"


def test_the_admin_copies_a_checklist_as_a_new_current_version(bureau, client, superuser):
    first = install(bureau)
    client.force_login(superuser)

    response = client.post(
        reverse("admin:contractors_checklist_changelist"),
        {"action": "copy_as_new_version", "_selected_action": [first.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "第2版" in response.content.decode()
    assert current_checklist(bureau).version == 2
    assert current_checklist(bureau).items.count() == first.items.count()


def test_the_admin_copies_one_checklist_at_a_time(bureau, client, superuser):
    first = install(bureau)
    second = do_copy_checklist_version(actor=superuser, checklist=first)
    client.force_login(superuser)

    response = client.post(
        reverse("admin:contractors_checklist_changelist"),
        {"action": "copy_as_new_version", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )

    assert "请只选择一个检查表" in response.content.decode()
    assert Checklist.objects.count() == 2
