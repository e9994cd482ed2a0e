"""Sign-in for the browser tests: a real OpenID Connect provider (oidc-provider-mock, in a subprocess), the
secrets that point Streamlit at it, the dashboard served with them, and the redirect flow driven in Chromium."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from helpers import HEADLESS, answers, free_port, start_server, stop_server, wait_healthy

# What ProConnect sends and the product reads; the provider passes non-standard claims (usual_name, uid, siret…)
# through whatever the scope, and email/given_name with Streamlit's default scope « openid email profile ».
REQUIRED_CLAIMS = frozenset({"sub", "email", "given_name", "usual_name"})

# Streamlit only accepts its auth cookie on the origin of redirect_uri, and the authorisation state lives in a
# session cookie of that host: the browser must open the app on this very host (127.0.0.1, not localhost).
APP_HOST = "127.0.0.1"


@contextmanager
def provider(users: list[dict]):
    """oidc-provider-mock on a free loopback port, with ``users`` predefined (their other claims land in the ID
    token); yields its base URL. Any client id and secret are accepted, any subject can sign in."""
    for user in users:
        missing = REQUIRED_CLAIMS - user.keys()
        if missing:
            raise ValueError(f"claims manquantes pour {user.get('sub')!r} : {sorted(missing)}")
    port = free_port()
    claims = [arg for user in users for arg in ("--user-claims", json.dumps(user))]
    process = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--port", str(port), *claims],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield _wait_discovery(process, f"http://127.0.0.1:{port}")
    finally:
        stop_server(process)


def _wait_discovery(process: subprocess.Popen, url: str, timeout_s: float = 30) -> str:
    """``url`` once the provider's discovery document answers; raises if the provider dies or never answers."""
    if answers(process, f"{url}/.well-known/openid-configuration", timeout_s, pause_s=0.1):
        return url
    raise AssertionError("le fournisseur OpenID Connect n'a pas démarré")


def secrets_file(directory: Path, provider_url: str, app_port: int | None = None) -> Path:
    """``directory/secrets.toml`` with an ``[auth]`` section for ``provider_url`` (one unnamed provider, as
    ``st.login()`` without argument expects) and an empty ``[indicateurs]`` section. Without ``app_port`` the
    redirect URI keeps Streamlit's ``{port}`` placeholder, filled with the port the server listens on."""
    port = app_port or "{port}"
    auth = {
        "redirect_uri": f"http://{APP_HOST}:{port}/oauth2callback",
        "cookie_secret": secrets.token_hex(32),
        "client_id": "tableau-de-bord-tests",
        "client_secret": secrets.token_hex(16),
        "server_metadata_url": f"{provider_url}/.well-known/openid-configuration",
    }
    # A JSON string is a valid TOML basic string.
    lines = ["[auth]", *(f"{key} = {json.dumps(value)}" for key, value in auth.items()), "", "[indicateurs]", ""]
    path = directory / "secrets.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def auth_options(secrets_path: Path) -> tuple[str, ...]:
    """Flags of ``streamlit run`` for a headless server reading its secrets from ``secrets_path`` only (the
    option ``secrets.files`` replaces the default list, so a developer's own secrets.toml is never read)."""
    return (*HEADLESS, "--secrets.files", str(secrets_path))


@contextmanager
def served_with_auth(database: Path, provider_url: str):
    """The dashboard served headless on ``database`` with sign-in through ``provider_url`` (secrets written next
    to the database); yields its address, on the host the sign-in cookies belong to."""
    secrets_path = secrets_file(database.parent, provider_url)
    process, port = start_server(database, options=auth_options(secrets_path))
    try:
        yield wait_healthy(process, port)
    finally:
        stop_server(process)


def sign_in(page, app_url: str, subject: str, button: str = "Se connecter", timeout_ms: int = 60_000) -> None:
    """Signs in as ``subject`` through the real redirect flow: the app's button, the provider's authorisation
    form (its text field accepts a predefined user's subject or any other, who gets only ``email = subject``),
    and back on the app, whose page is then loading as the signed-in person."""
    page.goto(app_url)
    page.get_by_role("button", name=button, exact=True).click(timeout=timeout_ms)
    page.locator('input[name="sub"]').fill(subject, timeout=timeout_ms)
    page.get_by_role("button", name="Authorize", exact=True).click()
    _wait_back_on(page, app_url, timeout_ms)


def sign_out(page, button: str = "Se déconnecter", timeout_ms: int = 60_000) -> None:
    """Signs out through the app's button: Streamlit drops its cookie and sends the browser to the provider's
    end-of-session page, whose confirmation leads back to the app."""
    parts = urlsplit(page.url)
    app_url = f"{parts.scheme}://{parts.netloc}"
    page.get_by_role("button", name=button, exact=True).click(timeout=timeout_ms)
    page.get_by_role("button", name="End session", exact=True).click(timeout=timeout_ms)
    _wait_back_on(page, app_url, timeout_ms)


def _wait_back_on(page, app_url: str, timeout_ms: int) -> None:
    # Compared by host and port: "http://127.0.0.1:5000" is a prefix of a provider on port 50001.
    app = urlsplit(app_url).netloc

    def back(url: str) -> bool:
        parts = urlsplit(url)
        return parts.netloc == app and parts.path != "/oauth2callback"

    page.wait_for_url(back, timeout=timeout_ms)
