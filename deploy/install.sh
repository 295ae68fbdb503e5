#!/usr/bin/env bash
# Install salesbot on a fresh Ubuntu 22.04 server (2 CPU / 4 GB is plenty), as root:
#
#   git clone <repository> /opt/salesbot && sudo bash /opt/salesbot/deploy/install.sh
#
# It installs the apt packages in deploy/apt-packages.txt (PostgreSQL, Python), creates the
# `sales_bot` system user, the PostgreSQL role and database `sales_bot` (with a generated
# password), the venv in /opt/salesbot/.venv, /etc/salesbot/salesbot.env (root:sales_bot,
# mode 640: the service reads its configuration but cannot rewrite it; from
# salesbot.env.example, with DATABASE_URL and a generated SESSION_SECRET filled in), migrates
# the database and enables the systemd service. Safe to run again: a second run changes
# nothing and overwrites no file you edited (the env file is never replaced once it exists;
# its owner and mode are set again, and a DATA_DIR line is added when it has none).
#
# Overridable for unusual layouts: SALESBOT_HOME (/opt/salesbot), SALESBOT_ETC
# (/etc/salesbot), SALESBOT_USER and SALESBOT_DB (sales_bot), SALESBOT_SKIP_APT=1.
# SALESBOT_NO_RESTART=1 (set by upgrade.sh, which restarts once itself): enable the
# service and reload a changed unit, but neither start nor restart it.
set -euo pipefail
umask 022  # the code and the venv must be readable by the service user; the env file gets 640

HOME_DIR="${SALESBOT_HOME:-/opt/salesbot}"
ETC_DIR="${SALESBOT_ETC:-/etc/salesbot}"
ENV_FILE="$ETC_DIR/salesbot.env"
APP_USER="${SALESBOT_USER:-sales_bot}"
DB_NAME="${SALESBOT_DB:-sales_bot}"
DB_ROLE="$APP_USER"
STATE_DIR=/var/lib/salesbot
LOG_DIR=/var/log/salesbot
UNIT_FILE=/etc/systemd/system/salesbot.service
SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# One list for install.sh and upgrade.sh (which runs the new release's install.sh).
APT_PACKAGES_FILE="$SOURCE_DIR/deploy/apt-packages.txt"
PLACEHOLDER_TOKEN="123456789:replace-with-your-bot-token"
# The system's Python (3.10 on Ubuntu 22.04), whatever else is first on PATH.
PYTHON="${SALESBOT_PYTHON:-/usr/bin/python3}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "run me as root: sudo bash $0"
[[ $APP_USER =~ ^[a-z_][a-z0-9_]*$ ]] || die "SALESBOT_USER must be a plain name, got '$APP_USER'"
[[ $DB_NAME =~ ^[a-z_][a-z0-9_]*$ ]] || die "SALESBOT_DB must be a plain name, got '$DB_NAME'"
if [[ -r /etc/os-release ]] && ! grep -q '^VERSION_ID="22.04"' /etc/os-release; then
    say "This script is made for Ubuntu 22.04; continuing on $(grep -m1 '^PRETTY_NAME=' /etc/os-release | cut -d= -f2-)"
fi

apt_packages() {
    # deploy/apt-packages.txt without its comments and blank lines.
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$APT_PACKAGES_FILE" | grep -v '^$'
}

install_packages() {
    [[ -r $APT_PACKAGES_FILE ]] || die "$APT_PACKAGES_FILE is missing"
    local wanted=()
    mapfile -t wanted < <(apt_packages)
    local missing=()
    local package
    for package in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    if ((${#missing[@]})); then
        say "Installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q "${missing[@]}"
    fi
}

create_user() {
    if ! getent group "$APP_USER" >/dev/null; then
        groupadd --system "$APP_USER"
    fi
    if ! id -u "$APP_USER" >/dev/null 2>&1; then
        say "Creating the system user $APP_USER"
        useradd --system --gid "$APP_USER" --home-dir "$STATE_DIR" --no-create-home \
            --shell /usr/sbin/nologin --comment "salesbot service" "$APP_USER"
    fi
    install -d -o "$APP_USER" -g "$APP_USER" -m 750 "$STATE_DIR" "$LOG_DIR"
    install -d -o root -g "$APP_USER" -m 750 "$ETC_DIR"
}

checkout() {
    if [[ -d $HOME_DIR ]]; then
        [[ -f $HOME_DIR/pyproject.toml ]] || die "$HOME_DIR exists but holds no salesbot checkout"
        return
    fi
    say "Copying the checkout $SOURCE_DIR to $HOME_DIR"
    if [[ -d $SOURCE_DIR/.git ]]; then
        git clone --quiet "$SOURCE_DIR" "$HOME_DIR"
    else
        cp -a "$SOURCE_DIR" "$HOME_DIR"
    fi
}

revision() {
    # What the venv was built from: the commit, plus the dependency list (for uncommitted edits).
    { git -C "$HOME_DIR" rev-parse HEAD 2>/dev/null || true; sha256sum "$HOME_DIR/pyproject.toml"; } \
        | sha256sum | cut -d' ' -f1
}

build_venv() {
    local venv="$HOME_DIR/.venv" stamp="$HOME_DIR/.venv/.salesbot-installed"
    if [[ ! -x $venv/bin/python ]]; then
        say "Creating the venv $venv"
        "$PYTHON" -m venv "$venv"
    fi
    if [[ -f $stamp && "$(cat "$stamp")" == "$(revision)" ]]; then
        return
    fi
    say "Installing salesbot into the venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet -e "$HOME_DIR"
    revision >"$stamp"
}

psql_admin() {
    (cd / && runuser -u postgres -- psql --no-psqlrc -v ON_ERROR_STOP=1 -qtA "$@")
}

start_postgres() {
    if command -v pg_isready >/dev/null && pg_isready -q; then
        return
    fi
    if [[ -d /run/systemd/system ]]; then
        systemctl enable --now postgresql
    else
        local versions=(/etc/postgresql/*)
        pg_ctlcluster --skip-systemctl-redirect "$(basename "${versions[-1]}")" main start
    fi
    for _ in $(seq 30); do pg_isready -q && return; sleep 1; done
    die "PostgreSQL does not answer"
}

random_hex() { "$PYTHON" -c 'import secrets; print(secrets.token_hex(24))'; }

password_from_env_file() {
    # postgresql://user:PASSWORD@host:port/db -> PASSWORD (empty when there is none). The
    # value may be quoted, as salesbot's reader of the file allows.
    sed -nE "s|^DATABASE_URL=[\"']?postgres[a-z+]*://[^:/@]*:([^@\"']*)@.*|\1|p" "$ENV_FILE" | tail -1
}

uses_local_database() {
    # An env file pointing at another server (a managed database): nothing to create here.
    [[ ! -f $ENV_FILE ]] \
        || grep -Eq "^DATABASE_URL=[\"']?postgres[a-z+]*://[^@]*@(localhost|127\\.0\\.0\\.1)[:/]" "$ENV_FILE"
}

prepare_database() {
    uses_local_database || return 0
    start_postgres
    local password=""
    if [[ -f $ENV_FILE ]]; then
        password="$(password_from_env_file)"
    fi
    if [[ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_ROLE'")" ]]; then
        say "Creating the PostgreSQL role $DB_ROLE"
        password="${password:-$(random_hex)}"
        psql_admin -c "CREATE ROLE $DB_ROLE LOGIN PASSWORD '$password'"
    elif [[ ! -f $ENV_FILE ]]; then
        # The role exists but nobody knows its password any more: give it a new one.
        say "Setting a new password for the PostgreSQL role $DB_ROLE"
        password="$(random_hex)"
        psql_admin -c "ALTER ROLE $DB_ROLE LOGIN PASSWORD '$password'"
    fi
    if [[ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]]; then
        say "Creating the database $DB_NAME"
        psql_admin -c "CREATE DATABASE $DB_NAME OWNER $DB_ROLE"
    fi
    DB_PASSWORD="$password"
}

write_env_file() {
    if [[ -f $ENV_FILE ]]; then
        return
    fi
    say "Writing $ENV_FILE (root:$APP_USER, mode 640)"
    local secret tmp
    secret="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(32))')"
    tmp="$(mktemp "$ETC_DIR/.salesbot.env.XXXXXX")"
    sed -e "s|^DATABASE_URL=.*|DATABASE_URL=postgresql://$DB_ROLE:$DB_PASSWORD@localhost:5432/$DB_NAME|" \
        -e "s|^# *SESSION_SECRET=.*|SESSION_SECRET=$secret|" \
        -e "s|^# *LOG_FILE=.*|LOG_FILE=$LOG_DIR/salesbot.log|" \
        -e "s|^# *DATA_DIR=.*|DATA_DIR=$STATE_DIR|" \
        "$HOME_DIR/deploy/salesbot.env.example" >"$tmp"
    chown "root:$APP_USER" "$tmp"
    chmod 640 "$tmp"
    mv "$tmp" "$ENV_FILE"
}

secure_env_file() {
    # Older installs made the service user its owner: a compromised process could rewrite
    # its own configuration (the model's URL, the admin ids). Readable, not writable, by it.
    chown "root:$APP_USER" "$ENV_FILE"
    chmod 640 "$ENV_FILE"
}

ensure_data_dir_setting() {
    # The unit sets no setting itself (the env file is the one reading): an env file written
    # by hand without DATA_DIR would put the data under the service user's home instead.
    if ! grep -Eq '^[[:space:]]*DATA_DIR=' "$ENV_FILE"; then
        say "Adding DATA_DIR=$STATE_DIR to $ENV_FILE (the unit no longer sets it)"
        printf '\n# Added by install.sh: where the service keeps its data.\nDATA_DIR=%s\n' \
            "$STATE_DIR" >>"$ENV_FILE"
    fi
}

as_app_user() {
    (cd "$HOME_DIR" && runuser -u "$APP_USER" -- "$HOME_DIR/.venv/bin/salesbot" --env-file "$ENV_FILE" "$@")
}

install_unit() {
    local rendered
    rendered="$(sed -e "s|/opt/salesbot|$HOME_DIR|g" -e "s|/etc/salesbot|$ETC_DIR|g" \
        -e "s|^User=.*|User=$APP_USER|" -e "s|^Group=.*|Group=$APP_USER|" \
        "$HOME_DIR/deploy/salesbot.service")"
    if [[ -f $UNIT_FILE ]] && [[ "$(cat "$UNIT_FILE")" == "$rendered" ]]; then
        UNIT_CHANGED=0
        return
    fi
    say "Installing $UNIT_FILE"
    printf '%s\n' "$rendered" >"$UNIT_FILE"
    chmod 644 "$UNIT_FILE"
    UNIT_CHANGED=1
}

configured() {
    # The example's placeholders are still there: the service would only fail and restart.
    ! grep -q "^BOT_TOKEN=$PLACEHOLDER_TOKEN\$" "$ENV_FILE"
}

enable_service() {
    if [[ ! -d /run/systemd/system ]]; then
        say "systemd is not running here: start it by hand with: $HOME_DIR/.venv/bin/salesbot --env-file $ENV_FILE run"
        return
    fi
    if ((UNIT_CHANGED)); then
        systemctl daemon-reload
    fi
    systemctl enable --quiet salesbot.service
    if ! configured; then
        say "Fill in API_ID, API_HASH, BOT_TOKEN, ADMIN_TELEGRAM_ID and OPENROUTER_API_KEY in $ENV_FILE,"
        say "then: systemctl start salesbot && journalctl -u salesbot -f"
        return
    fi
    if [[ ${SALESBOT_NO_RESTART:-0} == 1 ]]; then
        return  # upgrade.sh restarts once, after everything else is in place
    fi
    if ((UNIT_CHANGED)) && systemctl is-active --quiet salesbot.service; then
        systemctl restart salesbot.service
    else
        systemctl start salesbot.service
    fi
}

main() {
    if [[ ${SALESBOT_SKIP_APT:-0} != 1 ]]; then
        install_packages
    fi
    create_user
    checkout
    build_venv
    prepare_database
    write_env_file
    secure_env_file
    ensure_data_dir_setting
    say "Migrating the database"
    as_app_user migrate
    install_unit
    enable_service
    say "Done. Configuration: $ENV_FILE; logs: journalctl -u salesbot -f and $LOG_DIR/"
    say "Check it against the Bot API, the model, the database and every account (once filled in):"
    say "  runuser -u $APP_USER -- $HOME_DIR/.venv/bin/salesbot --env-file $ENV_FILE check --online"
}

DB_PASSWORD=""
UNIT_CHANGED=0
main "$@"
