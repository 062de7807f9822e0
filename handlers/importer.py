"""The reference data file (``incubot import FILE.toml``), checked whole before anything is written.

A broken file is refused with the key and the reason (``allocation[2].ae : …``);
nothing changes. A good one is imported in one transaction, and importing it
again changes nothing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import date
from typing import Any

from handlers.errors import CommandError
from handlers.i18n import Translator
from handlers.markup import plain
from handlers.money import parse_amount
from storage.models import Convention, Person, Phase, Side, Startup
from storage.platforms import CHAT_PLATFORMS, ChatPlatform
from storage.reference import AllocationTerms, ReferenceData

MAX_FILE_BYTES = 5_000_000
MAX_ALLOCATION_EUROS = 1_000_000_000_000
ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


class ImportFileError(Exception):
    """``key`` says where (``person[3].matrix_id``), ``reason`` why — ending with « (ligne N) » when
    the line of the file is known; ``line`` is that number."""

    def __init__(self, key: str, reason: str, line: int | None = None) -> None:
        super().__init__(f"{key} : {reason}")
        self.key = key
        self.reason = reason
        self.line = line

    def at_line(self, line: int | None) -> ImportFileError:
        if line is None or self.line is not None:
            return self
        return ImportFileError(self.key, f"{self.reason} (ligne {line})", line)


def _str(data: Mapping[str, Any], key: str, where: str, *, required: bool = True, max_len: int = 300) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ImportFileError(f"{where}.{key}", "clé obligatoire absente")
        return None
    if not isinstance(value, str):
        raise ImportFileError(f"{where}.{key}", f"texte attendu, trouvé {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise ImportFileError(f"{where}.{key}", "ne peut pas être vide")
    if len(value) > max_len:
        raise ImportFileError(f"{where}.{key}", f"{max_len} caractères au plus")
    return value


def _id(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(data, key, where, max_len=100) or ""
    if not set(value) <= ID_CHARS:
        raise ImportFileError(f"{where}.{key}", "identifiant en minuscules, chiffres, « - », « _ » ou « . »")
    return value


def _date(data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> date | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ImportFileError(f"{where}.{key}", "date obligatoire absente")
        return None
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ImportFileError(f"{where}.{key}", f"date attendue (AAAA-MM-JJ), trouvé « {value} »")


def _cents(data: Mapping[str, Any], key: str, where: str, t: Translator) -> int:
    value = data.get(key)
    if value is None:
        raise ImportFileError(f"{where}.{key}", "montant obligatoire absent")
    if isinstance(value, bool) or not isinstance(value, int | str):
        # TOML 1500000.0 would arrive as a binary fraction: money is typed as text or whole euros.
        raise ImportFileError(f"{where}.{key}", "montant à écrire en entier ou en texte (\"1500000\"), "
                                                "jamais en nombre à virgule")
    if isinstance(value, int):
        if value < 0:
            raise ImportFileError(f"{where}.{key}", "montant négatif")
        if value > MAX_ALLOCATION_EUROS:  # beyond it the cents no longer fit a 64-bit column
            raise ImportFileError(f"{where}.{key}", f"montant trop élevé (au plus {MAX_ALLOCATION_EUROS:_} €)"
                                  .replace("_", " "))
        return value * 100
    if not isinstance(value, str):
        raise ImportFileError(f"{where}.{key}", "montant attendu")
    if value.strip().strip("0").strip(" ,.€") == "" and value.strip():
        return 0  # "0", "0,00 €": a year may have no CP
    try:
        amount = parse_amount(value, t)
    except CommandError as exc:
        raise ImportFileError(f"{where}.{key}", plain(exc.message)) from None
    return amount.cents


def _platform_id(value: object, platform: ChatPlatform, where: str, *, channel: bool) -> str | None:
    """One platform id of the file, checked against what ids look like on that platform."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ImportFileError(where, f"texte attendu, trouvé {type(value).__name__}")
    value = value.strip()
    if not value:
        return None
    pattern, example = (platform.channel, platform.channel_example) if channel else (platform.user,
                                                                                    platform.user_example)
    what = "salon" if channel else "identifiant d'utilisateur"
    if len(value) > platform.max_length:
        raise ImportFileError(where, f"{what} {platform.name.capitalize()} de {platform.max_length} caractères "
                                     "au plus")
    if not pattern.fullmatch(value):
        raise ImportFileError(where, f"« {value[:80]} » n'est pas un {what} {platform.name.capitalize()} "
                                     f"(il s'écrit comme « {example} »)")
    return value


def _accounts(data: Mapping[str, Any], where: str) -> dict[str, str]:
    """A person's ``<platform>_id`` keys, one per platform of :data:`CHAT_PLATFORMS`."""
    known = {p.account_key: p for p in CHAT_PLATFORMS}
    for key in data:
        if key.endswith("_id") and key not in known:
            raise ImportFileError(f"{where}.{key}", f"plateforme inconnue : {key.removesuffix('_id')} (connues : "
                                                    f"{', '.join(p.name for p in CHAT_PLATFORMS)})")
    found = {p.name.value: _platform_id(data.get(key), p, f"{where}.{key}", channel=False)
             for key, p in known.items()}
    return {name: value for name, value in found.items() if value}


def _channels(data: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    """A ``{ slack = "…", matrix = "…" }`` table of channels, one per platform of :data:`CHAT_PLATFORMS`."""
    value = data.get(key) or {}
    names = [p.name.value for p in CHAT_PLATFORMS]
    if not isinstance(value, Mapping):
        raise ImportFileError(f"{where}.{key}", "table attendue : { " + ", ".join(f'{n} = "…"' for n in names) + " }")
    unknown = set(value) - set(names)
    if unknown:
        raise ImportFileError(f"{where}.{key}", f"plateforme inconnue : {', '.join(sorted(unknown))} "
                                                f"(connues : {', '.join(names)})")
    found = {p.name.value: _platform_id(value.get(p.name.value), p, f"{where}.{key}.{p.name}", channel=True)
             for p in CHAT_PLATFORMS}
    return {name: channel for name, channel in found.items() if channel}


_HEADER = re.compile(r"\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?")


def _line_of(text: str, key: str) -> int | None:
    """The line of ``key`` (``person[3].matrix_id``, ``convention.managers_channel.slack``) in the file:
    the n-th ``[[person]]`` header, then the first line of that table that sets the key."""
    match = re.fullmatch(r"([a-z_]+)(?:\[(\d+)\])?(?:\.(\w+))?.*", key)
    if match is None:
        return None
    section, index, name = match.group(1), int(match.group(2) or 1), match.group(3)
    lines = text.splitlines()
    start = None
    seen = 0
    for number, line in enumerate(lines, 1):
        header = _HEADER.match(line)
        if header and header.group(1) == section:
            seen += 1
            if seen == index:
                start = number
                break
    if start is None:
        return None
    if name is None:
        return start
    setting = re.compile(rf"\s*{re.escape(name)}\s*=")
    for number in range(start, len(lines)):
        line = lines[number]
        if _HEADER.match(line) and not line.lstrip().startswith(f"[{section}."):
            break
        if setting.match(line):
            return number + 1
    return start


def parse_reference(text: str | bytes, t: Translator | None = None) -> ReferenceData:
    """Parse and check a reference file; raise :class:`ImportFileError` on the first problem,
    with its line when it is known."""
    t = t or Translator("fr")
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise ImportFileError("fichier", "trop volumineux")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportFileError("fichier", "n'est pas en UTF-8") from None
    try:
        return _parse(text, t)
    except ImportFileError as exc:
        raise exc.at_line(_line_of(text, exc.key)) from None


def _parse(text: str, t: Translator) -> ReferenceData:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ImportFileError("fichier", f"TOML invalide ({exc})") from None
    known = {"convention", "allocation", "person", "startup", "committee"}
    for key in doc:
        if key not in known:
            raise ImportFileError(key, f"section inconnue (attendues : {', '.join(sorted(known))})")
    data = ReferenceData()
    conv = doc.get("convention")
    if conv is not None:
        if not isinstance(conv, Mapping):
            raise ImportFileError("convention", "table attendue")
        chorus = conv.get("chorus") or {}
        channels = _channels(conv, "managers_channel", "convention")
        starts = _date(conv, "starts", "convention")
        ends = _date(conv, "ends", "convention")
        assert starts and ends
        if ends <= starts:
            raise ImportFileError("convention.ends", "doit être après convention.starts")
        notice = conv.get("notice_months", 3)
        if not isinstance(notice, int) or isinstance(notice, bool) or not 0 <= notice <= 24:
            raise ImportFileError("convention.notice_months", "nombre de mois entre 0 et 24")
        data.convention = Convention(
            reference=_str(conv, "reference", "convention", max_len=64) or "",
            title=_str(conv, "title", "convention") or "",
            delegant=_str(conv, "delegant", "convention", max_len=200) or "",
            delegataire=_str(conv, "delegataire", "convention", max_len=200) or "",
            operational_unit=_str(conv, "operational_unit", "convention", max_len=64) or "",
            starts=starts,
            ends=ends,
            notice_months=notice,
            chorus_axe_ministeriel=_str(chorus, "axe_ministeriel", "convention.chorus", required=False,
                                        max_len=120) or "",
            chorus_domaine_fonctionnel=_str(chorus, "domaine_fonctionnel", "convention.chorus",
                                            required=False, max_len=64) or "",
            chorus_centre_financier=_str(chorus, "centre_financier", "convention.chorus", required=False,
                                         max_len=64) or "",
            chorus_activite=_str(chorus, "activite", "convention.chorus", required=False, max_len=64) or "",
            chorus_centre_de_cout=_str(chorus, "centre_de_cout", "convention.chorus", required=False,
                                       max_len=64) or "",
        )
        data.managers_channels = channels
    years: set[int] = set()
    for i, alloc in enumerate(_list(doc, "allocation")):
        where = f"allocation[{i + 1}]"
        year = alloc.get("year")
        if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
            raise ImportFileError(f"{where}.year", "année attendue (par exemple 2022)")
        if year in years:
            raise ImportFileError(f"{where}.year", f"{year} apparaît deux fois")
        years.add(year)
        ae = _cents(alloc, "ae", where, t)
        cp = _cents(alloc, "cp", where, t) if "cp" in alloc else 0
        data.allocations.append((year, ae, cp))
        terms = _allocation_terms(alloc, where, year)
        if terms != AllocationTerms():
            data.allocation_terms[year] = terms
    person_ids: set[str] = set()
    account_holders: dict[tuple[str, str], str] = {}
    for i, p in enumerate(_list(doc, "person")):
        where = f"person[{i + 1}]"
        pid = _id(p, "id", where)
        if pid in person_ids:
            raise ImportFileError(f"{where}.id", f"« {pid} » apparaît deux fois")
        person_ids.add(pid)
        roles = p.get("roles", [])
        if not isinstance(roles, list) or not all(r in ("manager", "admin") for r in roles):
            raise ImportFileError(f"{where}.roles", "liste parmi \"manager\", \"admin\" (les rôles de startup "
                                                    "se donnent dans [[startup]])")
        accounts = _accounts(p, where)
        for platform, external_id in accounts.items():
            holder = account_holders.setdefault((platform, external_id), pid)
            if holder != pid:
                raise ImportFileError(f"person.{platform}_id", f"« {external_id} » est donné à {holder} et à {pid}"
                                      ).at_line(_line_of(text, f"{where}.{platform}_id"))
        if accounts:
            data.accounts[pid] = accounts
        side = p.get("side")
        if side is not None and side not in {known.value for known in Side}:
            raise ImportFileError(f"{where}.side", f"« {str(side)[:40]} » : \"delegant\" ou \"delegataire\" "
                                                   "(le côté de la convention pour lequel la personne travaille)")
        data.people.append(Person(
            id=pid,
            side=side,
            name=_str(p, "name", where, max_len=200) or "",
            email=_str(p, "email", where, required=False, max_len=200),
            is_manager="manager" in roles,
            is_admin="admin" in roles,
        ))
    startup_ids: set[str] = set()
    for i, s in enumerate(_list(doc, "startup")):
        where = f"startup[{i + 1}]"
        sid = _id(s, "id", where)
        if sid in startup_ids:
            raise ImportFileError(f"{where}.id", f"« {sid} » apparaît deux fois")
        startup_ids.add(sid)
        phase = s.get("phase", Phase.INVESTIGATION.value)
        if phase not in {ph.value for ph in Phase}:
            raise ImportFileError(f"{where}.phase", "investigation, construction, acceleration ou consolidation")
        if channels := _channels(s, "channel", where):
            data.channels[sid] = channels
        members: dict[str, list[str]] = {}
        for role in ("intrapreneurs", "coaches"):
            ids = s.get(role, [])
            if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
                raise ImportFileError(f"{where}.{role}", "liste d'identifiants de personnes")
            for x in ids:
                if x not in person_ids:
                    raise ImportFileError(f"{where}.{role}", f"personne inconnue « {x} » (à déclarer dans [[person]])")
            members[role] = list(dict.fromkeys(ids))
        data.startups.append((
            Startup(id=sid, name=_str(s, "name", where, max_len=200) or "", phase=phase,
                    phase_started=_date(s, "phase_started", where, required=False)),
            members["intrapreneurs"],
            members["coaches"],
        ))
    for i, c in enumerate(_list(doc, "committee")):
        where = f"committee[{i + 1}]"
        held_on = _date(c, "date", where)
        assert held_on
        if held_on not in data.committees:
            data.committees.append(held_on)
        data.committee_keys[held_on] = _committee_keys(c, where, person_ids, startup_ids)
    return data


def _committee_keys(c: Mapping[str, Any], where: str, person_ids: set[str],
                    startup_ids: set[str]) -> tuple[str | None, list[str] | None]:
    """A committee's ``president`` (a person of the file) and ``startups`` (startups of the file; absent: all)."""
    president = c.get("president")
    if president is not None and (not isinstance(president, str) or (person_ids and president not in person_ids)):
        raise ImportFileError(f"{where}.president", "identifiant d'une personne déclarée dans [[person]]")
    reviewed = c.get("startups")
    if reviewed is not None:
        if not isinstance(reviewed, list) or not all(isinstance(x, str) for x in reviewed):
            raise ImportFileError(f"{where}.startups", "liste d'identifiants de startups")
        for x in reviewed:
            if startup_ids and x not in startup_ids:
                raise ImportFileError(f"{where}.startups", f"startup inconnue « {x} » (à déclarer dans [[startup]])")
        reviewed = list(dict.fromkeys(reviewed))
    return president, reviewed


def _allocation_terms(alloc: Mapping[str, Any], where: str, year: int) -> AllocationTerms:
    """``orders_until`` / ``payments_until`` (fin de gestion, in the allocation's year) and ``amendment`` /
    ``amended_on`` (art. 6)."""
    dates = {}
    for key in ("orders_until", "payments_until"):
        day = _date(alloc, key, where, required=False)
        if day is not None and day.year != year:
            raise ImportFileError(f"{where}.{key}", f"date de l'année {year} attendue, trouvé {day.isoformat()}")
        dates[key] = day
    amendment = _str(alloc, "amendment", where, required=False, max_len=200) or None
    amended_on = _date(alloc, "amended_on", where, required=False)
    if amended_on is not None and amendment is None:
        raise ImportFileError(f"{where}.amended_on", "date d'un avenant : nommez-le aussi (amendment = \"Avenant "
                                                     "n°1\")")
    return AllocationTerms(orders_until=dates["orders_until"], payments_until=dates["payments_until"],
                           amendment=amendment, amended_on=amended_on)


def _list(doc: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ImportFileError(key, f"tableau de tables attendu ([[{key}]])")
    return value
