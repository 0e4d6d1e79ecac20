"""Sample contexts of each document type: the shape drafting produces, used to check an
uploaded template before it is accepted (the full one and the smallest one must render)."""

from documents.models import DocType

_BUREAU = {
    "name": "上海市普陀区应急管理局",
    "short_name": "普",
    "review_government": "上海市普陀区人民政府",
    "review_department": "上海市应急管理局",
    "court": "上海市普陀区人民法院",
}
_FIRM = {
    "name": "上海某某化工有限公司",
    "uscc": "914403001922038216",
    "address": "上海市普陀区真北路100号",
    "legal_representative": "张三",
    "phone": "021-62000000",
    "street": "真如镇街道",
}
_INSPECTORS = [
    {"name": "李四", "certificate": "31070001"},
    {"name": "王五", "certificate": "31070002"},
]
_INSPECTION = {
    "kind": "日常检查",
    "campaign": "",
    "date": "2021年10月12日",
    "time_from": "2021年10月12日9时30分",
    "time_to": "2021年10月12日11时05分",
    "place": "生产车间、仓库",
    "representative": "赵六",
    "representative_post": "安全员",
    "representative_phone": "13800000000",
}
_HAZARDS = [
    {
        "no": 1,
        "category": "消防安全",
        "level": "重大事故隐患",
        "is_major": True,
        "description": '仓库内消防通道被货物堵塞 <A&B> "急"',
        "location": "1号仓库",
        "legal_basis": "《中华人民共和国消防法》第二十八条",
        "requirement": "立即清理通道，保持畅通",
        "deadline": "2021年10月19日",
        "rectified_on_spot": False,
        "photos": [],
    },
    {
        "no": 2,
        "category": "生产安全",
        "level": "一般事故隐患",
        "is_major": False,
        "description": "配电箱未张贴警示标志",
        "location": "生产车间",
        "legal_basis": "《中华人民共和国安全生产法》第三十五条",
        "requirement": "张贴安全警示标志",
        "deadline": "2021年11月11日",
        "rectified_on_spot": False,
        "photos": [],
    },
]
_DOCUMENT = {"title": "", "number": "（普）应急责改〔2021〕12号", "date": "2021年10月13日"}


def _document(doc_type, *, number=""):
    return {"title": str(DocType(doc_type).label), "number": number, "date": "", "approver": ""}


FULL = {
    DocType.INSPECTION_RECORD: {
        "bureau": _BUREAU,
        "document": {
            **_DOCUMENT,
            "title": "现场检查记录",
            "number": "（普）应急检记〔2021〕35号",
            "approver": "孙七",
        },
        "firm": _FIRM,
        "agency": {"name": "上海某某安全技术服务有限公司"},
        "inspectors": _INSPECTORS,
        "inspection": _INSPECTION,
        "findings": [
            {
                "no": 1,
                "category": "消防安全",
                "text": "消防通道是否畅通",
                "result": "存在隐患",
                "note": "1号仓库",
            },
            {
                "no": 2,
                "category": "生产安全",
                "text": "安全生产责任制是否建立",
                "result": "符合",
                "note": "",
            },
        ],
        "hazards": _HAZARDS,
        "summary": {"checked": 2, "passed": 1, "hazards": 2, "major": 1},
    },
    DocType.RECTIFICATION_ORDER: {
        "bureau": _BUREAU,
        "document": {**_DOCUMENT, "title": "责令限期整改指令书", "approver": "孙七"},
        "firm": _FIRM,
        "agency": {"name": "上海某某安全技术服务有限公司"},
        "inspectors": _INSPECTORS,
        "inspection": _INSPECTION,
        "hazards": _HAZARDS,
        "major_numbers": "1",
        "deadline_groups": [
            {"numbers": "1", "deadline": "2021年10月19日"},
            {"numbers": "2", "deadline": "2021年11月11日"},
        ],
    },
    DocType.REINSPECTION_OPINION: {
        "bureau": _BUREAU,
        "document": {
            **_DOCUMENT,
            "title": "整改复查意见书",
            "number": "（普）应急复查〔2021〕8号",
            "approver": "孙七",
        },
        "firm": _FIRM,
        "agency": {"name": "上海某某安全技术服务有限公司"},
        "inspectors": _INSPECTORS,
        "order": {
            "number": "（普）应急责改〔2021〕12号",
            "date": "2021年10月13日",
            "decision": "责令限期整改",
        },
        "reinspection": {"date": "2021年10月20日"},
        "rectified": [{"no": 1, "description": "仓库内消防通道被货物堵塞", "note": "已清理"}],
        "not_rectified": [
            {
                "no": 2,
                "description": "配电箱未张贴警示标志",
                "note": "尚未张贴",
                "new_deadline": "2021年11月30日",
            }
        ],
    },
}


def _smallest(doc_type):
    """What every smallest context shares: no appeal bodies, a firm known by name only, no
    inspectors."""
    return {
        "bureau": {**_BUREAU, "review_government": "", "review_department": "", "court": ""},
        "document": _document(doc_type),
        "firm": {key: "" for key in _FIRM} | {"name": "某公司"},
        "agency": {"name": "某机构"},
        "inspectors": [],
    }


MINIMAL = {
    DocType.INSPECTION_RECORD: {
        **_smallest(DocType.INSPECTION_RECORD),
        "inspection": {key: "" for key in _INSPECTION},
        "findings": [],
        "hazards": [],
        "summary": {"checked": 0, "passed": 0, "hazards": 0, "major": 0},
    },
    DocType.RECTIFICATION_ORDER: {
        **_smallest(DocType.RECTIFICATION_ORDER),
        "inspection": {key: "" for key in _INSPECTION},
        "hazards": [],
        "major_numbers": "",
        "deadline_groups": [],
    },
    DocType.REINSPECTION_OPINION: {
        **_smallest(DocType.REINSPECTION_OPINION),
        "order": {"number": "", "date": "", "decision": "责令限期整改"},
        "reinspection": {"date": ""},
        "rectified": [],
        "not_rectified": [],
    },
}


def sample_contexts(doc_type):
    return [FULL[doc_type], MINIMAL[doc_type]]
