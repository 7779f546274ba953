"""The public notice board as one HTML page that prints on A4 (公示栏 for the village wall).

Rendered from the same :class:`PublicBoard` the JSON endpoint serves, so the page can never
show more than the JSON. Every value is HTML-escaped; there are no scripts, no external
resources (a village office may print offline) and fonts come from the system: Noto Sans CJK
SC first (Debian ``fonts-noto-cjk``), then the usual Chinese fonts on Windows and macOS.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from html import escape
from typing import Final
from zoneinfo import ZoneInfo

from backend.http.notice_board_schemas import PublicBoard, PublicEdition
from events.business_date import business_day
from events.notice_board import BoardCaseStats, BoardCheckpoint, BoardContent, BoardGrid

__all__ = ["render_board_page"]

_STATUS: Final = {
    "current": "公示中",
    "upcoming": "待公示",
    "expired": "已结束",
    "withdrawn": "已撤回",
}
_ROLES: Final = {"grid_head": "网格长", "grid_member": "网格员"}
_LEVELS: Final = {1: "镇/乡", 2: "村/社区", 3: "网格", 4: "微网格"}

_CSS: Final = """
@page { size: A4; margin: 18mm 15mm 18mm 15mm; }
* { box-sizing: border-box; }
body { margin: 0; color: #111; background: #fff; font-size: 11pt; line-height: 1.5;
  font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei",
  "PingFang SC", "Hiragino Sans GB", "WenQuanYi Micro Hei", sans-serif; }
main { max-width: 180mm; margin: 0 auto; padding: 6mm 0; }
h1 { font-size: 22pt; text-align: center; margin: 0 0 2mm; letter-spacing: 0.2em; }
h2 { font-size: 14pt; border-bottom: 2px solid #b00; margin: 6mm 0 2mm; padding-bottom: 1mm;
  break-after: avoid; page-break-after: avoid; }
.meta { text-align: center; color: #333; margin: 0 0 4mm; }
table { width: 100%; border-collapse: collapse; margin: 0 0 3mm; }
th, td { border: 1px solid #555; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
th { background: #f0e6e6; }
thead { display: table-header-group; }
tr, .note, .edition { break-inside: avoid; page-break-inside: avoid; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono { font-family: "Noto Sans Mono CJK SC", "DejaVu Sans Mono", monospace; font-size: 8pt;
  word-break: break-all; white-space: pre-wrap; }
.edition { border: 2px solid #b00; padding: 3mm; margin: 0 0 6mm; }
.edition + .edition { break-before: page; page-break-before: always; }
.status-withdrawn { text-decoration: line-through; color: #777; }
footer { margin-top: 6mm; font-size: 9pt; color: #333; }
@media print { main { padding: 0; } a { color: inherit; text-decoration: none; } }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _table(
    head: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    numeric: int = 0,
    classes: Sequence[str] = (),
) -> str:
    """``numeric``: how many trailing columns are numbers (right-aligned); ``classes``: a CSS
    class per row (may be shorter than the rows)."""
    ths = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = []
    for index, row in enumerate(rows):
        cells = [
            f'<td class="num">{_e(c)}</td>' if i >= len(row) - numeric else f"<td>{_e(c)}</td>"
            for i, c in enumerate(row)
        ]
        css = classes[index] if index < len(classes) and classes[index] else ""
        tr = f'<tr class="{_e(css)}">' if css else "<tr>"
        body.append(f"{tr}{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(head)}">暂无</td></tr>')
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _grids(grids: Sequence[BoardGrid]) -> str:
    rows = [
        (
            g.code, g.name, _LEVELS.get(g.level, ""),
            "；".join(f"{_ROLES.get(c.role, '')} {c.name} {c.work_phone}" for c in g.contacts),
            g.households,
        )
        for g in grids
    ]  # fmt: skip
    return _table(("编号", "名称", "层级", "网格长/网格员及工作电话", "户数"), rows, numeric=1)


def _cases(stats: BoardCaseStats) -> str:
    rate = "—" if stats.on_time_rate is None else f"{stats.on_time_rate * 100:.1f}%"
    summary = _table(
        ("统计期", "事件总数", "已结案", "按期办结", "按期办结率"),
        [(f"{stats.window_start} 至 {stats.window_end}", stats.total, stats.closed,
          stats.closed_on_time, rate)],
        numeric=4,
    )  # fmt: skip
    states = _table(("状态", "件数"), [(c.label, c.count) for c in stats.by_state], numeric=1)
    kinds = _table(("类别", "件数"), [(c.label, c.count) for c in stats.by_category], numeric=1)
    return summary + _provisional(stats.holiday_data_missing) + states + kinds


def _provisional(years: Sequence[int]) -> str:
    if not years:
        return ""
    named = "、".join(f"{year}年" for year in years)
    return f"<p>注：{_e(named)}法定节假日安排尚未录入，按期办结按周一至周五工作日暂计。</p>"


def _checkpoint(cp: BoardCheckpoint | None) -> str:
    if cp is None:
        return "<p>审计检查点尚未生成。</p>"
    return (
        f"<p>日志大小 {_e(cp.tree_size)} 条；签发时间 {_e(cp.issued_at or '—')}；"
        f"密钥 {_e(cp.key_id or '—')}</p>"
        f'<p>根哈希（hex）：<span class="mono">{_e(cp.root_hash_hex)}</span></p>'
        f'<p>根哈希（base64）：<span class="mono">{_e(cp.root_hash_base64)}</span></p>'
        f'<pre class="mono">{_e(cp.signed_note or "")}</pre>'
    )


def _content(c: BoardContent) -> str:
    commendations = _table(
        ("表彰", "对象", "所在网格", "日期"),
        [(m.title, m.recipient, m.grid_name, m.day) for m in c.commendations],
    )
    ranking = _table(
        ("名次", "姓名", "网格", "积分"),
        [(r.rank, r.name, r.grid_name, r.points) for r in c.ranking],
        numeric=1,
    )
    notes = "".join(f'<p class="note">{_e(n)}</p>' for n in c.notes)
    return (
        (f"<h2>说明</h2>{notes}" if notes else "")
        + f"<h2>网格架构与联系方式</h2>{_grids(c.grids)}"
        + f"<h2>表彰公示</h2>{commendations}"
        + f"<h2>网格员积分排名</h2>{ranking}"
        + f"<h2>事件办理情况</h2>{_cases(c.cases)}"
        + f"<h2>审计检查点</h2>{_checkpoint(c.checkpoint)}"
    )


def _edition(e: PublicEdition) -> str:
    if e.content is None:  # only current editions carry content
        return ""
    return (
        f'<section class="edition"><p class="meta">公示期：{_e(e.period_start)} 至 '
        f"{_e(e.period_end)} · 内容摘要 SHA-256 "
        f'<span class="mono">{_e(e.content_sha256 or "")}</span></p>{_content(e.content)}</section>'
    )


def _editions(editions: Sequence[PublicEdition], zone: ZoneInfo) -> str:
    # Dates of publishing and withdrawal are the business days they fell on, not the UTC ones.
    rows = [
        (str(e.id)[:8], _STATUS[e.status], f"{e.period_start} 至 {e.period_end}",
         business_day(e.published_at, zone),
         business_day(e.withdrawn_at, zone) if e.withdrawn_at else "")
        for e in editions
    ]  # fmt: skip
    # Withdrawn rows say so in words and are struck through (not colour alone: A4 is grey).
    classes = [f"status-{e.status}" for e in editions]
    return _table(("期号", "状态", "公示期", "发布日期", "撤回日期"), rows, classes=classes)


def render_board_page(board: PublicBoard, *, today: date, zone: ZoneInfo) -> str:
    current = "".join(_edition(e) for e in board.current) or "<p>当前没有公示中的内容。</p>"
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(board.unit_name)} 公示栏</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{_e(board.unit_name)}公示栏</h1>"
        f'<p class="meta">{_e(_LEVELS.get(board.unit_level, ""))} · 查询日期 {_e(today)}</p>'
        f"{current}<h2>历次公示</h2>{_editions(board.editions, zone)}"
        "<footer>本栏内容经审核后发布，姓名已按规定脱敏；如有异议请在公示期内联系所在网格网格长。"
        "</footer></main></body></html>"
    )
