"""Bilingual labels (Chinese / English) shared by every renderer."""

from __future__ import annotations

KIND_ZH: dict[str, str] = {
    "cleaning": "清洗", "thawing": "解冻", "cutting": "切割", "peeling": "去皮",
    "dehairing": "脱毛", "mixing": "搅拌", "frying": "油炸", "heating": "加热",
    "packaging": "包装", "other": "其他",
}

L: dict[str, tuple[str, str]] = {
    "title": ("区县食品企业自动化水平报告", "District food enterprises: automation report"),
    "period": ("统计周期", "Period"),
    "previous": ("上一周期", "Previous period"),
    "generated": ("生成时间", "Generated"),
    "target": ("目标", "Target"),
    "enterprise": ("企业", "Enterprise"),
    "region": ("地区", "Region"),
    "status": ("状态", "Status"),
    "automation_rate": ("自动化率", "Automation rate"),
    "digitized": ("数字化覆盖率", "Digitized"),
    "oee": ("设备综合效率", "OEE"),
    "ccp": ("关键控制点偏差", "CCP deviations · minutes · lost monitoring"),
    "trend": ("环比", "Trend"),
    "meets": ("达标", "Meets 60%"),
    "yes": ("达标", "yes"),
    "no": ("未达标", "no"),
    "missing": ("未上报", "missing"),
    "no_production": ("无生产", "no production"),
    "reporting": ("已上报", "reporting"),
    "unregistered": ("未登记", "unregistered"),
    "district": ("全区汇总", "District"),
    "mean": ("平均自动化率", "Mean rate"),
    "weighted": ("按产量加权", "Output-weighted"),
    "meeting": ("达标企业数", "Meeting target"),
    "share": ("达标比例", "Share meeting"),
    "registered": ("登记企业", "Registered"),
    "holdbacks": ("制约环节", "Stage kinds holding enterprises back"),
    "below": ("低于目标的企业", "Enterprises below target"),
    "weakest": ("最薄弱环节", "Weakest stage of"),
    "stage_kinds": ("各环节自动化率", "Automation rate per stage kind"),
    "flags": ("异常提示", "Findings"),
    "rates_chart": ("企业自动化率与60%目标", "Automation rate per enterprise vs the 60% line"),
    "heatmap": ("环节热力图", "Stage-kind heat map"),
    "none": ("无", "none"),
}


def zh(key: str) -> str:
    return L[key][0]


def en(key: str) -> str:
    return L[key][1]


def both(key: str, sep: str = " / ") -> str:
    z, e = L[key]
    return f"{z}{sep}{e}"


def kind_label(kind: str, sep: str = " ") -> str:
    return f"{KIND_ZH.get(kind, kind)}{sep}{kind}"


def status_label(status: str) -> str:
    return both(status) if status in L else status
