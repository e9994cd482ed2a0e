"""The README falls behind the code: these tests fail first."""

from __future__ import annotations

import re
from pathlib import Path

from indicators import settings

PROJECT = Path(__file__).resolve().parent.parent
README = (PROJECT / "README.md").read_text(encoding="utf-8")
DOCS = {"README.md": README, **{f"docs/{p.name}": p.read_text(encoding="utf-8")
                                for p in sorted((PROJECT / "docs").glob("*.md"))}}


def test_every_setting_is_in_the_readme_table_with_its_default():
    rows = dict(re.findall(r"^\| `(INDICATEURS_[A-Z_]+)` \| ([^|]+) \|", README, flags=re.MULTILINE))
    assert set(rows) == {s.env for s in settings.SETTINGS}
    for setting in settings.SETTINGS:
        if isinstance(setting.default, (int, float)):
            shown = rows[setting.env].strip().replace("\u202f", "").replace(" ", "")
            assert float(shown) == float(setting.default), setting.env


def test_the_readme_says_the_dashboard_listens_on_loopback_as_its_configuration_does():
    config = (PROJECT / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    assert 'address = "127.0.0.1"' in config
    assert "`127.0.0.1`" in README and "## Ouvrir le tableau de bord au réseau" in README


def test_every_link_and_path_of_the_docs_stays_in_the_repository_and_exists():
    for name, text in DOCS.items():
        folder = (PROJECT / name).parent
        links = re.findall(r"\]\(([^)\s]+)\)", text)
        paths = re.findall(r"`([\w./-]+/[\w.-]+\.[a-z]{2,4})`", text)
        assert "../" not in text, f"{name} points outside the repository"
        assert not [link for link in links if re.match(r"[a-z]+:", link)], f"{name}: links leave the repository"
        for link in links:
            assert (folder / link.split("#")[0]).resolve().is_relative_to(PROJECT), (name, link)
            assert (folder / link.split("#")[0]).exists(), (name, link)
        for path in paths:
            if path.startswith("/"):  # a server's path (« Mise en production »), not one of the repository
                continue
            assert (PROJECT / path).exists(), (name, path)
