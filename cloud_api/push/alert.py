"""The one data type that flows through push: an :class:`Alert` about a case."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from cloud_api.db.base import utcnow

KIND_TITLES = {
    "case_opened": "新案件",
    "case_escalated": "案件升级",
    "parent_report": "家长直通反映",
    "case_disputed": "案件申诉",
    "rectification_submitted": "整改已提交",
    "rectification_rejected": "整改被驳回",
    "case_closed": "案件已关闭",
    "yellow_card": "黄牌督办",
    "red_card": "红牌督办",
}


@dataclass(frozen=True)
class Alert:
    """What happened, to which case in which school; rendered per channel."""

    kind: str
    school_id: str | None
    case_id: int | None
    severity: int
    title: str
    text: str
    url: str = ""
    card: str = "none"
    notification_id: int | None = None
    at: datetime = field(default_factory=utcnow)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data

    def markdown(self) -> str:
        """Markdown both group robots render (headings, bold, links)."""
        lines = [
            f"### {self.title}",
            f"> 等级: **{self.severity} 级**" + (f"  牌: **{self.card}**" if self.card != "none" else ""),
        ]
        if self.school_id:
            lines.append(f"> 学校: {self.school_id}")
        if self.text:
            lines.append(self.text)
        if self.url:
            lines.append(f"[查看详情]({self.url})")
        return "\n\n".join(lines)
