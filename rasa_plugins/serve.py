"""`rasa run` with the API token taken from the environment (runs in the Rasa environment).

`rasa run --auth-token <token>` would put the token on the command line, where every local
user reads it (`ps`, /proc/<pid>/cmdline). This module is started instead of the `rasa` script
and adds `--auth-token` inside the process, from HOTLINE_RASA_TOKEN. It also installs our fault
handling first (rasa_plugins/faults.py: Rasa and PyYAML only).
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    token = os.environ.get("HOTLINE_RASA_TOKEN", "")
    if not token:
        print("HOTLINE_RASA_TOKEN is not set: Rasa's HTTP API would be open.", file=sys.stderr)
        return 2
    from rasa.__main__ import main as rasa_main

    from rasa_plugins import event_masking, faults, sql_tracker_store

    # Action timeouts, failed actions and tracker-store failures answered (rasa_plugins/faults.py).
    faults.install()
    # No person's words in a tracker-store error (SQLAlchemy's bound parameters).
    sql_tracker_store.hide_parameters()
    # Access codes (提取码) masked in every event stored or published (rasa_plugins/event_masking.py).
    event_masking.install()
    # Saving a tracker does not read it again to feed the event broker.
    sql_tracker_store.install()
    # One argument with "=": a token that starts with "-" (token_urlsafe can) is not an option.
    sys.argv = ["rasa", *sys.argv[1:], f"--auth-token={token}"]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
