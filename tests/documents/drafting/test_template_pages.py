"""The bureau's document templates (versions, download, upload checked by a sample render) and
document settings (appeal bodies, court, number formats)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from docx import Document as new_docx

from documents.drafting.services import default_template_path, do_install_default_templates
from documents.models import DocType, DocumentSettings, DocumentTemplate

ORDER = DocType.RECTIFICATION_ORDER
LIST_URL = reverse("documents:template_list")
SETTINGS_URL = reverse("documents:settings")


def download_url(template):
    return reverse("documents:template_download", kwargs={"template_id": template.id})


def docx_with(*paragraphs):
    document = new_docx()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def upload(client, content, *, name="责改.docx", doc_type=ORDER):
    return client.post(
        LIST_URL, {"doc_type": doc_type, "file": SimpleUploadedFile(name, content)}, follow=True
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def installed(cast):
    return {t.doc_type: t for t in do_install_default_templates(actor=None, bureau=cast.bureau)}


# --- Templates ------------------------------------------------------------------------------------


def test_the_admin_sees_each_type_with_its_versions_and_the_upload_form(
    client_for, cast, installed
):
    response = client_for(cast.admin).get(LIST_URL)

    assert response.status_code == 200
    groups = dict(response.context["groups"])
    assert [t.version for t in groups["责令限期整改指令书"]] == [1]
    body = response.content.decode()
    for template in installed.values():
        assert download_url(template) in body and template.filename in body
    assert "系统默认" in body and "当前使用" in body
    assert 'enctype="multipart/form-data"' in body


def test_reviewers_may_look_but_not_upload(client_for, cast, installed):
    reviewer = client_for(cast.reviewer)
    response = reviewer.get(LIST_URL)
    assert response.status_code == 200
    assert response.context["form"] is None

    refused = reviewer.post(
        LIST_URL, {"doc_type": ORDER, "file": SimpleUploadedFile("x.docx", docx_with("x"))}
    )

    assert refused.status_code == 403
    assert DocumentTemplate.objects.filter(doc_type=ORDER).count() == 1


@pytest.mark.parametrize("member", ["manager_a", "inspector_a1", "firm_user_a", "outsider"])
def test_others_are_refused_templates_and_settings(client_for, cast, installed, member):
    client = client_for(getattr(cast, member))

    assert client.get(LIST_URL).status_code == 403
    assert client.get(SETTINGS_URL).status_code == 403
    assert client.get(download_url(installed[ORDER])).status_code == 404


def test_any_version_downloads_as_the_stored_bytes(client_for, cast, installed):
    response = client_for(cast.reviewer).get(download_url(installed[ORDER]))

    assert response.status_code == 200
    assert response.content == default_template_path(ORDER).read_bytes()
    assert response["Content-Disposition"].startswith("attachment;")
    assert "rectification_order.docx" in response["Content-Disposition"]


def test_a_template_reaching_for_settings_is_refused_with_the_name(client_for, cast, installed):
    response = upload(client_for(cast.admin), docx_with("{{ settings.SECRET_KEY }}"))

    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert any("settings" in error for error in errors)
    body = response.content.decode()
    assert "模板无法使用：" in body and "settings" in body
    assert DocumentTemplate.objects.filter(doc_type=ORDER).count() == 1


def test_each_problem_of_a_template_is_listed_on_its_own_line(client_for, cast, installed):
    response = upload(client_for(cast.admin), docx_with("{{ firm.nmae }}", "{{ unit.boss }}"))

    errors = response.context["form"].errors["file"]
    assert len(errors) >= 2
    assert any("nmae" in error for error in errors) and any("unit" in error for error in errors)
    body = response.content.decode()
    assert body.count('<p class="error" role="alert">模板无法使用：') == len(errors)


def test_a_template_with_a_syntax_error_is_refused(client_for, cast, installed):
    response = upload(client_for(cast.admin), docx_with("{% if firm.name %}没有结束"))

    assert any("TemplateSyntaxError" in e for e in response.context["form"].errors["file"])
    assert DocumentTemplate.objects.filter(doc_type=ORDER).count() == 1


def test_a_file_that_is_not_docx_is_refused(client_for, cast, installed):
    response = upload(client_for(cast.admin), b"not a word file", name="order.txt")

    assert response.context["form"].errors["file"] == ["请上传 .docx 格式的 Word 文件。"]


def test_a_valid_upload_becomes_version_2(client_for, cast, installed):
    content = default_template_path(ORDER).read_bytes()

    response = upload(client_for(cast.admin), content, name="责令限期整改指令书2021.docx")

    assert response.redirect_chain[-1][0] == LIST_URL
    assert "已启用责令限期整改指令书模板第 2 版。" in messages_of(response)
    current = DocumentTemplate.objects.get(bureau=cast.bureau, doc_type=ORDER, is_current=True)
    assert current.version == 2
    assert current.uploaded_by == cast.admin
    assert [t.version for t in dict(response.context["groups"])["责令限期整改指令书"]] == [2, 1]
    assert "王管理" in response.content.decode()


def test_the_template_list_runs_few_queries(
    client_for, cast, installed, django_assert_max_num_queries
):
    admin = client_for(cast.admin)
    upload(admin, default_template_path(ORDER).read_bytes())
    with django_assert_max_num_queries(8):
        admin.get(LIST_URL)


# --- Settings -------------------------------------------------------------------------------------


def settings_form(**overrides):
    return {
        "review_government": "上海市普陀区人民政府",
        "review_department": "上海市应急管理局",
        "court": "上海市普陀区人民法院",
        "inspection_record_format": "（{bureau}）{prefix}〔{year}〕{sequence}号",
        "rectification_order_format": "（{bureau}）{prefix}〔{year}〕第{sequence}号",
        "reinspection_opinion_format": "（{bureau}）{prefix}〔{year}〕{sequence}号",
        **overrides,
    }


def test_the_admin_saves_the_document_settings(client_for, cast):
    admin = client_for(cast.admin)
    page = admin.get(SETTINGS_URL)
    assert page.status_code == 200
    assert page.context["form"]["court"].value() == ""

    response = admin.post(SETTINGS_URL, settings_form(), follow=True)

    assert "文书设置已保存。" in messages_of(response)
    saved = DocumentSettings.objects.get(bureau=cast.bureau)
    assert saved.court == "上海市普陀区人民法院"
    assert saved.rectification_order_format == "（{bureau}）{prefix}〔{year}〕第{sequence}号"
    assert response.context["form"]["court"].value() == "上海市普陀区人民法院"


def test_a_bad_number_format_is_refused_at_its_field(client_for, cast):
    form = settings_form(
        inspection_record_format="{bureau}{prefix}{unknown}",
        reinspection_opinion_format="（{bureau}）{prefix}",
        court="某法院",
    )

    response = client_for(cast.admin).post(SETTINGS_URL, form)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"inspection_record_format", "reinspection_opinion_format"}
    assert "{year}" in errors["reinspection_opinion_format"][0]
    assert response.context["form"]["court"].value() == "某法院"
    assert not DocumentSettings.objects.filter(bureau=cast.bureau, court="某法院").exists()


def test_the_reviewer_may_not_change_the_settings(client_for, cast):
    assert client_for(cast.reviewer).post(SETTINGS_URL, settings_form()).status_code == 403
    assert not DocumentSettings.objects.filter(bureau=cast.bureau).exists()
