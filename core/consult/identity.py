"""Is this the same patient? Outside identities (a DICOM header, an HL7 PID segment, a request form)
compared with the patient of a consult. Qt-free.

Choices, where the standards leave room:
- **Patient ID decides, within its issuer.** Two different IDs are two patients, whatever the names
  say; the same ID under two different issuers (DICOM Issuer of Patient ID, HL7 PID-3.4) is two
  patients too. An issuer is compared only when both sides have one: most county PACS leave it empty.
- **Names are compared tolerantly, and only to catch a conflict.** The same ID with a clearly
  different name or birth date is a conflict (a mistyped ID, a merged record), not a match. DICOM
  person names are ``Family^Given^Middle^Prefix^Suffix`` with up to three ``=``-separated groups
  (alphabetic, ideographic, phonetic): "ZHANG^WEI=张^伟" matches "Zhang Wei" and "张伟". Case, spaces,
  commas, the order of the name parts and full-width forms (NFKC) do not matter.
- **Birth dates** are compared as YYYYMMDD digits when both sides have one (DICOM DA, HL7 TS, ISO).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from core.consult.patient import Patient

_SEPARATORS = re.compile(r"[\s,.^'\-·]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class IdentityMatch:
    same: bool
    reason: str  # why not, in words a clinician reads; "" when same


def _name_forms(name: str) -> set[str]:
    """Every comparable form of a name: per DICOM group, the sorted parts and, for CJK, the characters."""
    forms: set[str] = set()
    for group in unicodedata.normalize("NFKC", name).split("="):
        parts = [p for p in _SEPARATORS.split(group.casefold()) if p]
        if not parts:
            continue
        forms.add(" ".join(sorted(parts)))
        joined = "".join(parts)
        if _CJK.search(joined):
            forms.add(joined)  # 张伟, 张^伟 and 张 伟 are one name
    return forms


def names_agree(a: str, b: str) -> bool:
    """True when both names have a common form, or when either is empty (nothing to contradict)."""
    fa, fb = _name_forms(a), _name_forms(b)
    return not fa or not fb or bool(fa & fb)


def _date_digits(value: str | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    digits = re.sub(r"\D", "", value)
    return digits[:8] if len(digits) >= 8 else ""


def same_patient(
    patient: Patient, patient_id: str, name: str = "", birth_date: str | date | None = "", issuer: str = ""
) -> IdentityMatch:
    """Whether the outside identity (``patient_id`` within ``issuer``, ``name``, ``birth_date``) is
    ``patient``; the reason says which part differs."""
    ours, theirs = patient.patient_id.strip(), (patient_id or "").strip()
    if not theirs:
        return IdentityMatch(False, "no patient ID")
    if ours != theirs:
        return IdentityMatch(False, f"patient ID {theirs} is not {ours}")
    if issuer and patient.issuer and issuer.strip() != patient.issuer.strip():
        return IdentityMatch(False, f"patient ID {theirs} is issued by {issuer}, not {patient.issuer}")
    if not names_agree(patient.name, name):
        return IdentityMatch(False, f"the name {name} is not {patient.name}")
    born_ours, born_theirs = _date_digits(patient.birth_date), _date_digits(birth_date)
    if born_ours and born_theirs and born_ours != born_theirs:
        return IdentityMatch(False, f"born {born_theirs}, not {born_ours}")
    return IdentityMatch(True, "")
