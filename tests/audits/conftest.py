import csv
import io

import pytest
from django.conf import settings

CANONICAL_HEADER = [
    "system_id",
    "key_stage",
    "primary_need",
    "setting_type",
    "locality",
    "plan_stage",
    "date_issued",
]


def register_csv(rows, header=CANONICAL_HEADER, bom=False):
    """A register file as CSV bytes: the header row, then the rows."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    return (("\ufeff" + text) if bom else text).encode("utf-8")


def register_xlsx(rows, header=CANONICAL_HEADER):
    """A register file as an Excel workbook (bytes), the way a case-management export is."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Plans"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture
def plan_import_media(settings, tmp_path):
    """Stored uploads go to a temporary folder, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def plans_2000_path():
    path = settings.BASE_DIR.parent / "shared" / "data" / "plans-2000.csv"
    if not path.exists():
        pytest.skip(f"The synthetic register {path} is not here (it lives beside the repository).")
    return path


@pytest.fixture(scope="session")
def plans_2000_bytes(plans_2000_path):
    return plans_2000_path.read_bytes()


@pytest.fixture(scope="session")
def plans_2000_rows(plans_2000_bytes):
    """The sample register's rows, without the header."""
    rows = list(csv.reader(io.StringIO(plans_2000_bytes.decode("utf-8"))))
    assert rows[0] == CANONICAL_HEADER
    return rows[1:]
