"""Whole conversations on the transcript stub (tests/stub.py): everything the bot says, to whom, in
what order — and nothing more (the ``stub`` fixture fails on a message no test expected).

What the bot says is checked here once; how Slack, Mattermost and Matrix show it is their own tests'
business (a reply as an ephemeral message, an update as chat.update, a post patch or m.replace)."""

from __future__ import annotations

from tests.stub import StubChat


def test_a_validation_tells_each_person_once_and_updates_the_request_once(stub: StubChat) -> None:
    """Léa's quote: she is answered, Julien gets the request; his Valider: he is answered, his request is
    updated once, Léa is told once, the managers get the order to place — and no one else hears anything."""
    stub.say("lea.dupont", "devis dedale; 12 500 HT; Scopyleft; Sprint 7")
    stub.expect("lea.dupont", "D-2026-0001", "Julien Moreau", kind="reply")
    request = stub.expect("julien.moreau", "D-2026-0001", "Scopyleft", kind="dm")
    assert request.buttons == ["Valider", "Refuser"]
    stub.expect_nothing_more()

    stub.click("julien.moreau", "D-2026-0001", "Valider")
    stub.expect("julien.moreau", "C'est fait", "validé", kind="reply")
    updated = stub.expect("julien.moreau", "Validé", "Julien Moreau", kind="update")
    assert updated.buttons == []
    stub.expect("lea.dupont", "D-2026-0001", "validé par Julien Moreau", kind="dm")
    assert stub.expect("managers", "D-2026-0001", "bon de commande à passer", kind="channel").buttons == \
        ["Passer commande"]


def test_a_second_decision_is_only_answered(stub: StubChat) -> None:
    """Julien validates a quote already validated (typed, his buttons are gone): he is told it is decided;
    no update, no message to anyone."""
    stub.say("lea.dupont", "devis dedale; 3000; Arawa; Audit")
    stub.click("julien.moreau", "D-2026-0001", "Valider")
    stub.forget_so_far()

    stub.say("julien.moreau", "valider D-2026-0001")
    stub.expect("julien.moreau", "D-2026-0001 est déjà validé (par Julien Moreau", kind="reply")


def test_a_refusal_asks_its_reason_then_updates_once_and_tells_the_coach(stub: StubChat) -> None:
    """Refuser opens the reason's form (nothing else is said); its submission answers Nadia, updates her
    request once and tells Thomas the reason."""
    stub.say("thomas.roux", "devis locadocs; 4 000; Atelier Pixel; Entretiens")
    stub.forget_so_far()

    assert stub.click("nadia.benali", "D-2026-0001", "Refuser").text == "[form: Motif du refus]"
    stub.expect("nadia.benali", "[form: Motif du refus]", kind="reply")
    stub.expect_nothing_more()

    stub.fill("nadia.benali", {"reason": "Hors périmètre"})
    stub.expect("nadia.benali", "C'est fait", "refusé", "Motif : Hors périmètre", kind="reply")
    stub.expect("nadia.benali", "Refusé", "Hors périmètre", kind="update")
    stub.expect("thomas.roux", "refusé", "Hors périmètre", kind="dm")


def test_an_empty_reason_keeps_the_form_open_and_says_nothing_else(stub: StubChat) -> None:
    """A blank reason is answered on its field; the request stays as it was and no one is told anything."""
    stub.say("thomas.roux", "devis locadocs; 4 000; Atelier Pixel; Entretiens")
    stub.click("nadia.benali", "D-2026-0001", "Refuser")
    stub.forget_so_far()

    stub.fill("nadia.benali", {"reason": "  "})
    stub.expect("nadia.benali", "Le motif est obligatoire.", kind="reply")


def test_a_service_done_goes_to_the_intrapreneur_and_its_certification_to_the_coach(stub: StubChat) -> None:
    """service-fait: Léa answered, Julien asked with Certifier/Refuser; Certifier: answered, updated once, Léa told."""
    stub.say("lea.dupont", "devis dedale; 10 000; Scopyleft; Sprints")
    stub.click("julien.moreau", "D-2026-0001", "Valider")
    stub.forget_so_far()

    stub.say("lea.dupont", "service-fait D-2026-0001; 2 500; octobre")
    stub.expect("lea.dupont", "SF-2026-0001", "25 %", kind="reply")
    assert stub.expect("julien.moreau", "SF-2026-0001", kind="dm").buttons == ["Certifier", "Refuser"]
    stub.click("julien.moreau", "SF-2026-0001", "Certifier")
    stub.expect("julien.moreau", "C'est fait", "certifié", kind="reply")
    stub.expect("julien.moreau", "SF-2026-0001", kind="update")
    stub.expect("lea.dupont", "SF-2026-0001", "certifié", kind="dm")


def test_a_stranger_is_answered_and_nobody_else_hears_of_it(stub: StubChat) -> None:
    """Someone the bot does not know is told whom to ask; nothing reaches anyone else."""
    stub.say("inconnu", "devis dedale; 3000; Arawa; Audit")
    stub.expect("inconnu", "Je ne vous connais pas", "Camille Martin", kind="reply")


def test_the_transcript_fails_on_a_message_nobody_expected(stub: StubChat) -> None:
    """The stub's own check: a direct message no test expected is reported, with whom it was for."""
    stub.say("lea.dupont", "devis dedale; 3000; Arawa; Audit")
    stub.expect("lea.dupont", kind="reply")
    try:
        stub.expect_nothing_more()
    except AssertionError as failure:
        assert "dm to julien.moreau" in str(failure)
    else:
        raise AssertionError("an unexpected direct message went unnoticed")
    stub.forget_so_far()
