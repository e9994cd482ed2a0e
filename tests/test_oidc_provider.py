"""The sign-in machinery of the browser tests, proven on a throwaway Streamlit script: a real OpenID Connect
provider, Streamlit's own st.login/st.user/st.logout, and the redirect flow driven in Chromium."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

import pytest

from helpers import chromium, free_port, new_page, stop_server, wait_healthy
from oidc import auth_options, provider, secrets_file, sign_in, sign_out

pytestmark = pytest.mark.browser

# Two agents as ProConnect describes them (claims email, given_name, usual_name, uid, siret).
DIRECTRICE = {"sub": "pc-directrice-lyon", "email": "claire.martin@caf-lyon.fr", "given_name": "Claire",
              "usual_name": "Martin", "uid": "4101", "siret": "53432478900012"}
ADMINISTRATEUR = {"sub": "pc-admin-ditp", "email": "paul.durand@modernisation.gouv.fr", "given_name": "Paul",
                  "usual_name": "Durand", "uid": "7702", "siret": "13000273400017"}

# Every claim of st.user on a line of its own, so that the test reads what Streamlit really exposes.
WHO_AM_I = """
import streamlit as st

if not st.user.is_logged_in:
    if st.button("Se connecter"):
        st.login()
else:
    for claim, value in sorted(st.user.to_dict().items()):
        st.text(f"{claim} = {value}")
    if st.button("Se déconnecter"):
        st.logout()
"""


@contextmanager
def served_script(script, secrets_path):
    """``script`` served headless with ``secrets_path`` as its only secrets; yields its address."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
         "--server.address", "127.0.0.1", *auth_options(secrets_path)],
        cwd=script.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield wait_healthy(process, port)
    finally:
        stop_server(process)


def claims_shown(page) -> dict[str, str]:
    page.get_by_text("is_logged_in = True").wait_for(timeout=30_000)
    # The button comes after every claim: once it is drawn, so are they (sorted, « is_logged_in » is not last).
    page.get_by_role("button", name="Se déconnecter").wait_for(timeout=30_000)
    lines = page.locator('[data-testid="stText"]').all_inner_texts()
    return dict(line.split(" = ", 1) for line in lines)


def test_two_agents_signed_in_each_see_their_own_claims_and_sign_out_shows_the_button(tmp_path):
    script = tmp_path / "qui_suis_je.py"
    script.write_text(WHO_AM_I, encoding="utf-8")
    with provider([DIRECTRICE, ADMINISTRATEUR]) as provider_url, \
            served_script(script, secrets_file(tmp_path, provider_url)) as app_url, chromium() as browser:
        directrice, administrateur = new_page(browser), new_page(browser)
        sign_in(directrice, app_url, DIRECTRICE["sub"])
        sign_in(administrateur, app_url, ADMINISTRATEUR["sub"])

        for page, agent in ((directrice, DIRECTRICE), (administrateur, ADMINISTRATEUR)):
            shown = claims_shown(page)
            # The provider's own claims (ProConnect's names included) reach st.user unchanged.
            assert {claim: shown.get(claim) for claim in agent} == agent

        sign_out(directrice)
        directrice.get_by_role("button", name="Se connecter").wait_for(timeout=30_000)
        assert directrice.get_by_text(DIRECTRICE["email"]).count() == 0

        # Signing one browser out leaves the other signed in, on a fresh session too.
        administrateur.reload()
        assert claims_shown(administrateur)["email"] == ADMINISTRATEUR["email"]
