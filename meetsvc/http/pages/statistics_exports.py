"""The statistics report as files: CSV the way Swedish Excel opens it (UTF-8 with BOM,
semicolons, decimal comma), an XLSX workbook, and JSON-stat 2.0 for PxWeb-style tools.

Each is written from the report after suppression, so no export can hold a figure the page hides,
and each states the rule that was applied.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

from meetsvc.domain.model import Language
from meetsvc.http.pages.i18n import translate
from meetsvc.services.statistics_report import MEASURES, SHARES, Report, Row

HIDDEN = ".."


def _title(report: Report, language: Language) -> str:
    return f"{translate(language, 'stat.heading')}: {report.organisation_name}, {report.year}"


def cell_text(row: Row, measure: str) -> str:
    """A figure as people read it in Swedish tables: ".." hidden, empty not available, decimal comma."""
    value = row.values[measure]
    if value is None:
        return HIDDEN if measure in row.hidden else ""
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def headers(language: Language) -> list[str]:
    return [translate(language, "stat.area")] + [translate(language, f"stat.m.{m}") for m in MEASURES]


def to_csv(report: Report, language: Language) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([_title(report, language)])
    writer.writerow(headers(language))
    for row in report.rows:
        writer.writerow([row.name(language.value), *(cell_text(row, m) for m in MEASURES)])
    writer.writerow([])
    writer.writerow([report.rule.describe(language.value)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: Report, language: Language) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = str(report.year)
    sheet.append([_title(report, language)])
    sheet.append(headers(language))
    for row in report.rows:
        cells: list[Any] = [row.name(language.value)]
        for measure in MEASURES:
            value = row.values[measure]
            cells.append(value if value is not None else (HIDDEN if measure in row.hidden else None))
        sheet.append(cells)
    for row_cells in sheet.iter_rows(min_row=3, min_col=2):
        for cell in row_cells:
            if isinstance(cell.value, float):
                cell.number_format = "0.0"
    sheet.append([])
    sheet.append([report.rule.describe(language.value)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_jsonstat(report: Report, language: Language) -> dict[str, Any]:
    """A JSON-stat 2.0 dataset: area × measure; a hidden figure is null with status ".."."""
    lang = language.value
    areas = [row.area.code if row.area else "total" for row in report.rows]
    values: list[float | int | None] = []
    status: dict[str, str] = {}
    for row in report.rows:
        for measure in MEASURES:
            if row.values[measure] is None and measure in row.hidden:
                status[str(len(values))] = HIDDEN
            values.append(row.values[measure])
    return {
        "version": "2.0",
        "class": "dataset",
        "label": _title(report, language),
        "source": report.organisation_name,
        "id": ["year", "area", "measure"],
        "size": [1, len(areas), len(MEASURES)],
        "dimension": {
            "year": {
                "label": translate(language, "stat.year"),
                "category": {"index": [str(report.year)], "label": {str(report.year): str(report.year)}},
            },
            "area": {
                "label": translate(language, "stat.area"),
                "category": {
                    "index": areas,
                    "label": {code: row.name(lang) for code, row in zip(areas, report.rows, strict=True)},
                },
            },
            "measure": {
                "label": "measure",
                "category": {
                    "index": list(MEASURES),
                    "label": {m: translate(language, f"stat.m.{m}") for m in MEASURES},
                    "unit": {m: {"decimals": 1 if m in SHARES or m == "wait_median_min" else 0} for m in MEASURES},
                },
            },
        },
        "value": values,
        "status": status,
        "note": [report.rule.describe(lang), translate(language, "stat.unit_note")],
        "extension": {
            "organisation_id": report.organisation_id,
            "gender": report.gender.value if report.gender else None,
            "age_band": report.age_band.value if report.age_band else None,
            "rule": {"hide_from": report.rule.low, "hide_to": report.rule.high, "min_base": report.rule.min_base},
        },
    }
