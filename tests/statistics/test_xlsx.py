"""The statistics workbook as a spreadsheet program reads it: read back by openpyxl, an
independent reader, cell by cell."""

from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook

from meetsvc.http.pages.xlsx import workbook


def test_text_numbers_and_decimals_come_back_as_written() -> None:
    title = ' Kommun <A> & "B" '
    rows = [
        [title],
        ["Område", "Antal", "Andel (%)", "Dold"],
        ["Barn och unga", 12, 53.333333333333336, ".."],
        ["Totalt", 0, 25.0, None, 7],
        [],
        ["Regeln\tsom\x01 gällde"],
    ]
    data = workbook("2025", rows)

    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None and sheet.title == "2025"
    got = [[(c.value, c.number_format) for c in row] for row in sheet.iter_rows()]
    assert got[0][0] == (title, "General")
    assert [v for v, _ in got[1][:4]] == ["Område", "Antal", "Andel (%)", "Dold"]
    assert got[2][:4] == [("Barn och unga", "General"), (12, "General"), (53.333333333333336, "0.0"), ("..", "General")]
    assert got[3][:5] == [("Totalt", "General"), (0, "General"), (25, "0.0"), (None, "General"), (7, "General")]
    assert all(v is None for v, _ in got[4])
    # A character XML cannot hold is left out; the rest of the text stays.
    assert got[5][0][0] == "Regeln\tsom gällde"
    assert workbook("2025", rows) == data  # the same table gives the same bytes
