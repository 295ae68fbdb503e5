#!/usr/bin/env bash
# Upgrade an installed salesbot to the newest commit of its branch, as root:
#
#   sudo bash /opt/salesbot/deploy/upgrade.sh
#
# Pulls (fast-forward only: local edits stop it), then runs the new release's install.sh,
# which changes only what the new version needs: the apt packages of its
# deploy/apt-packages.txt that are missing, the venv, the env file's owner and mode, the
# migrations, the unit file (reloaded when it changed). Then it restarts the service once.
# A failed step stops the script before the restart: the running service keeps its old code
# until then.
set -euo pipefail

HOME_DIR="${SALESBOT_HOME:-/opt/salesbot}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'upgrade.sh: %s\n' "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "run me as root: sudo bash $0"
[[ -d $HOME_DIR/.git ]] || die "$HOME_DIR is not a git checkout; run deploy/install.sh first"
# root runs git here; a checkout cloned by another user would otherwise be "dubious".
git() { command git -c safe.directory="$HOME_DIR" "$@"; }

before="$(git -C "$HOME_DIR" rev-parse --short HEAD)"
say "Pulling into $HOME_DIR (now at $before)"
git -C "$HOME_DIR" pull --ff-only --quiet
after="$(git -C "$HOME_DIR" rev-parse --short HEAD)"
if [[ $before == "$after" ]]; then
    say "Already at the newest commit $after"
else
    say "Updated $before -> $after:"
    git -C "$HOME_DIR" log --oneline "$before..$after" | head -20
fi

# Packages, venv, migrations and the unit file, each only if changed; install.sh leaves the
# restart to us, so a changed unit does not restart the service twice.
SALESBOT_NO_RESTART=1 bash "$HOME_DIR/deploy/install.sh"

if [[ -d /run/systemd/system ]] && systemctl is-enabled --quiet salesbot.service; then
    say "Restarting salesbot"
    systemctl restart salesbot.service
    sleep 3
    systemctl --no-pager --lines=5 status salesbot.service || true
else
    say "systemd is not managing salesbot here: restart the process yourself"
fi
