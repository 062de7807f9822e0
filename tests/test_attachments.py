"""Documents that come with messages, as people receive them on every platform: the monthly report's PDF in
the managers' channel, the PV de service fait with the certification; an upload that fails is sent again,
once."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.scheduler import sweep
from tests.chat import ChatDriver, Seen, SeenFile
from tests.conftest import ON_EVERY_PLATFORM

PARIS = ZoneInfo("Europe/Paris")
FIRST_WORKING_DAY = datetime(2026, 11, 5, 10, tzinfo=PARIS)  # October's report is due (2 November has come)


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def the_pdf(message: Seen, name: str) -> SeenFile:
    """The one file of ``message``, which must be the PDF ``name``."""
    assert [f.name for f in message.files] == [name], message
    [pdf] = message.files
    assert pdf.data.startswith(b"%PDF")
    return pdf


def reports(chat: ChatDriver) -> list[Seen]:
    return [m for m in chat.managers_channel() if "Rapport mensuel" in m]


@ON_EVERY_PLATFORM
def test_the_monthly_report_reaches_the_managers_channel_with_its_pdf(chat: ChatDriver) -> None:
    """On the first working day the managers' channel gets October's report, rapport-2026-10.pdf attached,
    a PDF that names the month."""
    sweep(chat.runtime, FIRST_WORKING_DAY)
    [report] = reports(chat)
    assert "Rapport mensuel — octobre 2026" in report and "Ci-joint le rapport complet" in report
    pdf = the_pdf(report, "rapport-2026-10.pdf")
    assert "Rapport mensuel — octobre 2026" in pdf_text(pdf.data)


@ON_EVERY_PLATFORM
def test_the_certification_brings_the_pv_to_sign_to_the_coach(chat: ChatDriver) -> None:
    """Julien certifies Léa's service done: her message carries PV-SF-2026-0001.pdf, to have signed by the
    délégataire; Julien is told where the PV comes from."""
    chat.say("lea.dupont", "devis dedale; 10 000; Scopyleft; Sprints")
    chat.click("julien.moreau", "D-2026-0001", "Valider")
    chat.say("lea.dupont", "service-fait D-2026-0001; 2 500; octobre")
    said = chat.say("julien.moreau", "certifier SF-2026-0001")
    assert "C'est fait" in said and "incubot pv SF-2026-0001" in said.text
    told = chat.inbox("lea.dupont")[-1]
    assert "certifié par Julien Moreau" in told and "à faire signer par le délégataire" in told
    pv = the_pdf(told, "PV-SF-2026-0001.pdf")
    text = pdf_text(pv.data)
    assert "SF-2026-0001" in text and "Pour le délégataire" in text


@pytest.mark.parametrize("chat", ["slack", "mattermost"], indirect=True)
def test_an_upload_that_fails_once_is_sent_again_once(chat, clock) -> None:  # type: ignore[no-untyped-def]
    """The platform answers 500 to the first upload of the report: the report is sent again and the managers'
    channel has it once, with its PDF."""
    chat.fail_next_upload()
    sweep(chat.runtime, FIRST_WORKING_DAY)
    sweep(chat.runtime, FIRST_WORKING_DAY + timedelta(minutes=5))  # past the outbox's first backoff
    [report] = reports(chat)
    the_pdf(report, "rapport-2026-10.pdf")
    assert chat.uploads_tried() == 2


@ON_EVERY_PLATFORM
def test_the_final_report_reaches_the_managers_channel_with_its_pdf(chat: ChatDriver) -> None:
    """The demo convention ends on 31 December 2026; on Monday 4 January 2027 (1 January a holiday, then the
    week-end) the managers' channel gets the bilan, bilan-MC-DINUM-2024.pdf attached, a PDF that names it."""
    sweep(chat.runtime, datetime(2027, 1, 4, 10, tzinfo=PARIS))
    [bilan] = [m for m in chat.managers_channel() if "Bilan final" in m]
    assert "Bilan final de la convention MC-DINUM-2024" in bilan and "Ci-joint le bilan complet" in bilan
    pdf = the_pdf(bilan, "bilan-MC-DINUM-2024.pdf")
    assert "Crédits non consommés (art. 5)" in pdf_text(pdf.data)
