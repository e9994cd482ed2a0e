"""Who is behind this session: Streamlit's OpenID Connect sign-in (st.login, st.user, st.logout) when
.streamlit/secrets.toml has an [auth] section, else « mode local ». The person becomes an ``rights.Access``
that the pages pass to every read and write; the rights themselves are enforced in ``indicators/``."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from indicators import rights, settings
from indicators.text import markdown_literal

LOCAL_BANNER = ("Mode local, sans authentification : toute personne qui ouvre cette adresse a tous les droits.")
# Set once per session, when its sign-in has been written in the journal.
_SIGN_IN_LOGGED = "connexion_journalisee"


def sign_in_configured() -> bool:
    """An [auth] section in the secrets: the product asks every person to sign in."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises when it is read
        return False


def person() -> rights.Person:
    """The signed-in person from the provider's token: ProConnect's given_name and usual_name, the standard
    name, given_name and family_name elsewhere; the subject identifies them, the e-mail matches early grants."""
    user = st.user
    given, family = user.get("given_name"), user.get("usual_name") or user.get("family_name")
    name = user.get("name") or " ".join(str(part) for part in (given, family) if part) or user.get("email")
    return rights.Person(str(name or user.get("sub")), user.get("email"), str(user.get("sub")))


def current(con) -> rights.Access | Callable[[], None]:
    """The access of this session's person, or the one screen they may see (a function that draws it): the
    sign-in screen, or the no-grant page. Draws the local-mode banner."""
    if not sign_in_configured():
        st.info(LOCAL_BANNER, icon=":material/lock_open:")
        return rights.local()
    if not st.user.is_logged_in:
        return sign_in_screen
    if _SIGN_IN_LOGGED not in st.session_state:
        access = rights.signed_in(con, person())
        st.session_state[_SIGN_IN_LOGGED] = True
    else:
        access = rights.for_person(con, person())
    with st.sidebar:
        st.caption("Connecté : " + markdown_literal(access.who))
        st.button("Se déconnecter", on_click=st.logout, icon=":material/logout:", key="sign_out")
    if not access.has_grant:
        return lambda: no_grant_screen(access)
    return access


def sign_in_screen() -> None:
    st.title("Services Publics+ · Indicateurs de qualité")
    st.write("Connectez-vous avec votre compte d'agent public pour voir les indicateurs de vos structures.")
    st.button("Se connecter", type="primary", on_click=st.login, icon=":material/login:", key="sign_in")


def no_grant_screen(access: rights.Access) -> None:
    st.title("Pas encore d'accès")
    st.write("Vous êtes connecté en tant que " + markdown_literal(access.who) + ".")
    st.caption("Votre identifiant chez le fournisseur d'identité (à donner à l'administrateur si votre adresse "
               "électronique ne suffit pas) : " + markdown_literal(access.person.subject or ""))
    st.write("Votre compte n'a encore accès à aucune structure. Pour en obtenir un, écrivez à "
             + markdown_literal(str(settings.get("admin_contact")))
             + " en précisant votre structure et votre rôle (directeur, tête de réseau, lecteur).")
