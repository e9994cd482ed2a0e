"""The README falls behind the code: these tests fail first."""

from __future__ import annotations

import re

from conftest import PROJECT
from indicators import settings

README = (PROJECT / "README.md").read_text(encoding="utf-8")


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
