"""dbt seeds made from kept libraries, so nobody hand-writes code sets or holiday rules.

- icd10cm_codes.csv: every ICD-10-CM category and code from the simple-icd-10-cm
  package, with a short chapter name as Category (fits VARCHAR(50)). Descriptions
  longer than 200 characters are cut to 197 and end in "...".
- us_federal_holidays.csv: US federal holidays from the holidays package, observed
  dates included (a Saturday holiday is observed on the Friday before, a Sunday
  one on the Monday after), 1990 to 2060.
- state_regions.csv: USPS state and territory codes with their US Census region
  (carestar.contract.STATE_REGIONS).

`carestar seeds` rewrites them; a test checks the committed files match.
"""

from __future__ import annotations

import csv
from pathlib import Path

from carestar.contract import STATE_REGIONS

DESCRIPTION_WIDTH = 200
HOLIDAY_YEARS = range(1990, 2061)

# Short names of the 22 ICD-10-CM chapters (official titles run past 50 characters).
CHAPTER_SHORT_NAMES = {
    "1": "Infectious and parasitic diseases",
    "2": "Neoplasms",
    "3": "Blood and immune disorders",
    "4": "Endocrine, nutritional and metabolic",
    "5": "Mental and behavioral disorders",
    "6": "Nervous system",
    "7": "Eye and adnexa",
    "8": "Ear and mastoid process",
    "9": "Circulatory system",
    "10": "Respiratory system",
    "11": "Digestive system",
    "12": "Skin and subcutaneous tissue",
    "13": "Musculoskeletal and connective tissue",
    "14": "Genitourinary system",
    "15": "Pregnancy and childbirth",
    "16": "Perinatal conditions",
    "17": "Congenital anomalies",
    "18": "Symptoms and abnormal findings",
    "19": "Injury and poisoning",
    "20": "External causes",
    "21": "Health status and health services",
    "22": "Special purposes",
}


def fit(text: str, width: int = DESCRIPTION_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def icd10cm_rows() -> list[tuple[str, str, str, str]]:
    import simple_icd_10_cm as cm

    rows = []
    for code in cm.get_all_codes(with_dots=True):
        if cm.is_chapter_or_block(code):
            continue
        chapter = cm.get_ancestors(code)[-1]
        rows.append(
            (code, fit(cm.get_description(code)), CHAPTER_SHORT_NAMES[chapter], "1" if cm.is_leaf(code) else "0")
        )
    return rows


def holiday_rows() -> list[tuple[str, str]]:
    import holidays

    us = holidays.country_holidays("US", years=HOLIDAY_YEARS, observed=True)
    return sorted((day.isoformat(), name) for day, name in us.items())


def write_seeds(out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    tables = {
        "icd10cm_codes.csv": (("diagnosis_code", "description", "category", "is_billable"), icd10cm_rows()),
        "us_federal_holidays.csv": (("holiday_date", "holiday_name"), holiday_rows()),
        "state_regions.csv": (("state", "region"), sorted(STATE_REGIONS.items())),
    }
    written = {}
    for name, (header, rows) in tables.items():
        path = out / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        written[str(path)] = len(rows)
    return written
