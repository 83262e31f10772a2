"""Stable pseudonyms for a consult's patient, and a scrubber that takes the identity out of free text.

Trainees get ``Patient XXXXXXXX`` / ``ANON-XXXXXXXX`` (an HMAC of the patient id with the site's salt, so
the same patient keeps the same pseudonym across consults) instead of the identity, and every text a
trainee receives (question, answer, outcome, notes, chat, annotation labels) passes through
`Scrubber`. A specialist deciding whether to accept an open consult reads its question with marks
("[name]", "[patient ID]", "[birth date]") instead, and an age band (`withholding_scrubber`, `age_band`).
The workstation's teaching files pseudonymise the same way on the client side
(core/teaching/library.py); this module stays beside the backend because the backend never imports the
desktop packages.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

BIRTH_DATE_MARK = "[birth date]"


@dataclass(frozen=True)
class Pseudonym:
    patient_id: str
    name: str


# What replaces the identity for a reader it is withheld from (backend/access.py): marks, not a
# pseudonym, which would link the consults of one patient.
WITHHELD = Pseudonym(patient_id="[patient ID]", name="[name]")


def pseudonym_code(patient_id: str, salt: bytes) -> str:
    return hmac.new(salt, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()[:8].upper()


def pseudonym_for(patient_id: str, salt: bytes) -> Pseudonym:
    code = pseudonym_code(patient_id, salt)
    return Pseudonym(patient_id=f"ANON-{code}", name=f"Patient {code}")


def _name_parts(name: str) -> list[str]:
    return [p for p in re.split(r"[\s^,]+", name) if p]


def name_variants(name: str) -> list[str]:
    """The whole name as written, "Given Family", "Family Given", DICOM "Family^Given" and "Family, Given"
    (longest first, so the longest spelling wins in an alternation)."""
    parts = _name_parts(name)
    if not parts:
        return []
    forms = {
        name.strip(),
        " ".join(parts),
        " ".join(reversed(parts)),
        "^".join(parts),
        "^".join(reversed(parts)),
        ", ".join(parts),
        ", ".join(reversed(parts)),
    }
    if not all(p.isascii() for p in parts):
        forms.add("".join(parts))  # CJK names are written without spaces
    return sorted((f for f in forms if f), key=len, reverse=True)


def date_variants(value: date) -> list[str]:
    """How a birth date is written in notes: ISO, DICOM DA, day-first and month-first, dotted, Chinese."""
    y, m, d = value.year, value.month, value.day
    month = value.strftime("%b")
    forms = {
        f"{y:04d}-{m:02d}-{d:02d}",
        f"{y:04d}{m:02d}{d:02d}",
        f"{y:04d}/{m:02d}/{d:02d}",
        f"{y:04d}.{m:02d}.{d:02d}",
        f"{y}-{m}-{d}",
        f"{y}/{m}/{d}",
        f"{d:02d}/{m:02d}/{y:04d}",
        f"{m:02d}/{d:02d}/{y:04d}",
        f"{d}/{m}/{y}",
        f"{m}/{d}/{y}",
        f"{d:02d}.{m:02d}.{y:04d}",
        f"{d}.{m}.{y}",
        f"{d:02d}-{m:02d}-{y:04d}",
        f"{d} {month} {y}",
        f"{d:02d} {month} {y}",
        f"{d}-{month}-{y}",
        f"{d:02d}-{month}-{y}",
        f"{month} {d}, {y}",
        f"{y}年{m}月{d}日",
        f"{y}年{m:02d}月{d:02d}日",
    }
    return sorted(forms, key=len, reverse=True)


def _bounded(text: str) -> str:
    """A whole-word pattern for ASCII text; CJK text has no word boundaries to anchor on. A dot between
    digits is not a boundary either, so a number inside a DICOM UID (1.2.840.12345.6) stays intact."""
    escaped = re.escape(text)
    if text.isascii():
        return rf"(?<!\w)(?<!\d\.){escaped}(?!\w)(?!\.\d)"
    return escaped


class Scrubber:
    """Replaces the patient's name (any spelling above, any case), its parts on their own as capitalised
    words, the patient id and the birth date in free text: in one pass, so a replacement is never
    rewritten again (the pseudonym "Patient 1A2B..." may itself contain a word of the name)."""

    def __init__(
        self,
        patient_id: str,
        name: str,
        birth_date: date | None,
        pseudonym: Pseudonym,
        extra: Iterable[str] = (),
    ) -> None:
        self.pseudonym = pseudonym
        rules: list[tuple[str, str]] = []
        full = [_bounded(v) for v in name_variants(name)]
        if full:
            rules.append((f"(?i:{'|'.join(full)})", pseudonym.name))
        if patient_id.strip():
            rules.append((f"(?i:{_bounded(patient_id.strip())})", pseudonym.patient_id))
        if birth_date is not None:
            dates = "|".join(_bounded(v) for v in date_variants(birth_date))
            rules.append((f"(?i:{dates})", BIRTH_DATE_MARK))
        # A name part alone ("Mrs Wang") as written, Capitalised or UPPER: lower-case words that happen
        # to equal a part ("5 min") are ordinary words.
        words: set[str] = set()
        for part in (*_name_parts(name), *extra):
            if len(part) >= 2:
                words.update({part, part[:1].upper() + part[1:].lower(), part.upper()})
        if words:
            alone = "|".join(_bounded(w) for w in sorted(words, key=len, reverse=True))
            rules.append((alone, pseudonym.name))
        self._replacements = [new for _, new in rules]
        self._pattern = (
            re.compile("|".join(f"(?P<r{i}>{p})" for i, (p, _) in enumerate(rules))) if rules else None
        )

    def text(self, value: str) -> str:
        if self._pattern is None or not value:
            return value
        return self._pattern.sub(self._replace, value)

    def _replace(self, match: re.Match[str]) -> str:
        group = match.lastgroup or "r0"
        return self._replacements[int(group[1:])]

    def value(self, value: Any) -> Any:
        """Every string inside a JSON value (annotation ops, vitals labels), keys included: a sender
        chooses the keys of a relayed payload, so a name may ride in one ({"Wang Wei": ...})."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {(self.text(k) if isinstance(k, str) else k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def scrubber_for(patient_id: str, name: str, birth_date: date | None, salt: bytes) -> Scrubber:
    return Scrubber(patient_id, name, birth_date, pseudonym_for(patient_id, salt))


def withholding_scrubber(patient_id: str, name: str, birth_date: date | None) -> Scrubber:
    """Takes the identifiers out without a pseudonym in their place: "[name] ([patient ID], born [birth
    date])". For readers the identity is withheld from; a pseudonym would link one patient's consults."""
    return Scrubber(patient_id, name, birth_date, WITHHELD)


def age_band(birth_date: date | None, today: date) -> str | None:
    """The decade of age on `today`: "0-9", "10-19" ... "80-89", then "90+" (rarer ages identify)."""
    if birth_date is None:
        return None
    age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    if age < 0:
        return None
    if age >= 90:
        return "90+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"
