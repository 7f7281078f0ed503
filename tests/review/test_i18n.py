"""Every text the templates ask for exists in Danish and English."""

from __future__ import annotations

import re
from pathlib import Path

from features.labels import OUTCOMES
from review.administration import ACCOUNT_ACTIONS, ACCOUNT_PURPOSE
from review.casework import NOT_RELEVANT_REASONS, STATUSES
from review.i18n import TEXTS, translator
from review.triage import COLOURS
from review.web_auth import AUTH_ACTIONS, AUTH_PURPOSE, UNKNOWN_ROLE

TEMPLATES = Path(__file__).parents[2] / "review" / "templates"


def test_every_literal_key_in_the_templates_is_translated():
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_0-9]+)'[,)]", template.read_text(encoding="utf-8")))
    assert sorted(used - set(TEXTS)) == []


def test_composed_keys_are_translated():
    composed = [f"status_{s}" for s in STATUSES] + [f"reason_{r}" for r in NOT_RELEVANT_REASONS]
    composed += [f"role_{r}" for r in ("nurse", "gp", "coordinator", "analyst", "admin", UNKNOWN_ROLE)]
    composed += [f"action_{a}" for a in AUTH_ACTIONS] + [f"purpose_{AUTH_PURPOSE}"]
    composed += [f"action_{a}" for a in ACCOUNT_ACTIONS] + [f"purpose_{ACCOUNT_PURPOSE}"]
    composed += ["action_access_denied", "purpose_security", "role_operator", "role_identity_provider"]
    composed += [f"triage_{colour}" for colour in COLOURS]
    composed += [f"risk_event_{outcome}" for outcome in OUTCOMES]
    composed += [f"outcome_{outcome}" for outcome in OUTCOMES]
    assert [key for key in composed if key not in TEXTS] == []


def test_danish_is_the_default_and_english_is_available():
    assert translator("xx")("log_in") == "Log ind"
    assert translator("en")("log_in") == "Log in"
