"""install.sh's last words point at `salesbot check --online`, run as the service's user with
the service's env file (what the service will be able to read and write)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_install_ends_by_suggesting_the_online_check():
    text = (ROOT / "deploy" / "install.sh").read_text()
    body = re.search(r"\nmain\(\) \{\n(.*?)\n\}", text, re.S)
    assert body, "main() is missing"
    last = body.group(1).splitlines()[-1].strip()
    assert last == (
        'say "  runuser -u $APP_USER -- $HOME_DIR/.venv/bin/salesbot --env-file $ENV_FILE '
        'check --online"'
    )
