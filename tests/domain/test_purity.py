"""`salesbot.domain` is pure: importing it pulls in nothing but the standard library."""

import subprocess
import sys


def test_importing_the_domain_loads_no_third_party_module():
    probe = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import salesbot.domain.account, salesbot.domain.dialog, salesbot.domain.message\n"
        "import salesbot.domain.quota, salesbot.domain.username, salesbot.domain.opt_out\n"
        "import salesbot.domain.phone, salesbot.domain.peer, salesbot.domain.events\n"
        "import salesbot.domain.do_not_contact, salesbot.domain.errors\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "stdlib = set(sys.stdlib_module_names)\n"
        "print(sorted(m for m in new if m not in stdlib and m != 'salesbot'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
