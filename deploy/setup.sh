#!/usr/bin/env bash
# Installs imgd on a machine run by systemd (Debian, Ubuntu or similar), behind nginx if nginx
# is installed. Safe to run again: it keeps an existing env file and a site file you edited.
#
#   sudo deploy/setup.sh [SERVER_NAME]          e.g. sudo deploy/setup.sh images.example.org
#
# What it does:
#   - checks for Node.js installed system-wide: 24 (the current LTS) recommended, 20.11 at least
#   - creates the system user `imgd` (no login, home /var/lib/imgd)
#   - puts imgd in /opt/imgd (copies this checkout there unless it already is there) and, when
#     dist/ or node_modules/ is missing, runs `npm ci && npm run build` (then drops the dev
#     dependencies); IMGD_REBUILD=1 forces that, e.g. after `git pull` in /opt/imgd
#   - writes /etc/imgd/imgd.env with a random AUTH_TOKEN (root only, mode 600), unless it exists
#   - installs imgd.service, imgd-gc.service and imgd-gc.timer, enables and starts them
#   - with nginx: installs deploy/nginx/imgd.conf for SERVER_NAME (or $IMGD_SERVER_NAME) and
#     enables it once its TLS certificate exists
set -euo pipefail

readonly APP_DIR=/opt/imgd
readonly ENV_DIR=/etc/imgd
readonly ENV_FILE=/etc/imgd/imgd.env
readonly STATE_DIR=/var/lib/imgd
readonly SERVICE_USER=imgd
readonly UNIT_DIR=/etc/systemd/system
readonly ACME_ROOT=/var/www/letsencrypt
readonly PLACEHOLDER_NAME=images.example.com

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
SRC_DIR=$(dirname -- "$SCRIPT_DIR")
readonly SCRIPT_DIR SRC_DIR

say() { printf '==> %s\n' "$*"; }
warn() { printf 'setup.sh: warning: %s\n' "$*" >&2; }
die() {
  printf 'setup.sh: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

case ${1:-} in
  -h | --help)
    usage
    exit 0
    ;;
  -*) die "unknown option $1 (see --help)" ;;
  *) ;;
esac

SERVER_NAME=${1:-${IMGD_SERVER_NAME:-}}
if [[ -n $SERVER_NAME && ! $SERVER_NAME =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
  die "not a host name: $SERVER_NAME"
fi

[[ ${EUID} -eq 0 ]] || die "run as root: sudo $0 $*"
umask 022

systemd_running() { [[ -d /run/systemd/system ]]; }

# --- Node.js ------------------------------------------------------------------------------------
NODE_BIN=$(command -v node || true)
[[ -n $NODE_BIN ]] || die "Node.js is required and \`node\` is not in PATH: install Node.js 24 (the current LTS) system-wide, e.g. from NodeSource's node_24.x"
case $(readlink -f -- "$NODE_BIN") in
  /root/* | /home/* | /run/user/*)
    die "node is at $(readlink -f -- "$NODE_BIN"), which the service cannot reach (ProtectHome=yes); install Node.js system-wide (e.g. from your distribution or NodeSource)"
    ;;
  *) ;;
esac
if ! "$NODE_BIN" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 11) ? 0 : 1)'; then
  die "Node.js 20.11 or later is required (24, the current LTS, recommended); $NODE_BIN is $("$NODE_BIN" --version)"
fi
if ! "$NODE_BIN" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)'; then
  say "warning: $NODE_BIN is $("$NODE_BIN" --version); imgd runs on it, but Node 24 is the current LTS (Node 20 reached its end of life in April 2026): install Node 24 and run this again"
fi

# --- user ---------------------------------------------------------------------------------------
if ! getent passwd "$SERVICE_USER" >/dev/null; then
  say "creating system user $SERVICE_USER"
  nologin=$(command -v nologin || echo /usr/sbin/nologin)
  if getent group "$SERVICE_USER" >/dev/null; then
    useradd --system --gid "$SERVICE_USER" --home-dir "$STATE_DIR" --no-create-home --shell "$nologin" "$SERVICE_USER"
  else
    useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home --shell "$nologin" "$SERVICE_USER"
  fi
fi
install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE_DIR"

# --- application --------------------------------------------------------------------------------
rebuild=${IMGD_REBUILD:-0}
if [[ ! -f $APP_DIR/package.json ]]; then
  [[ $SRC_DIR != "$APP_DIR" && -f $SRC_DIR/package.json && -d $SRC_DIR/src ]] ||
    die "put imgd in $APP_DIR first (git clone <repository> $APP_DIR), then run $APP_DIR/deploy/setup.sh"
  say "copying $SRC_DIR to $APP_DIR"
  install -d -m 0755 "$APP_DIR"
  # Owned by root and not writable by the service: it runs this code, it must not change it.
  tar -C "$SRC_DIR" --exclude=./.git --exclude=./node_modules --exclude=./dist --exclude=./data \
    --exclude=.env --exclude=./bench/results -cf - . | tar -C "$APP_DIR" --no-same-owner -xf -
  chmod -R u=rwX,go=rX "$APP_DIR"
  rebuild=1
fi
if [[ $rebuild == 1 || ! -f $APP_DIR/dist/cli.js || ! -d $APP_DIR/node_modules ]]; then
  command -v npm >/dev/null || die "npm is needed to build imgd"
  say "building imgd in $APP_DIR (npm ci && npm run build)"
  (
    cd "$APP_DIR"
    npm ci --no-audit --no-fund
    npm run build
    npm prune --omit=dev --no-audit --no-fund
  )
  rebuild=1
else
  say "$APP_DIR/dist is built (IMGD_REBUILD=1 rebuilds it)"
fi

# --- settings and token -------------------------------------------------------------------------
new_token() {
  # 32 random bytes, base64url without padding: 43 characters.
  if command -v openssl >/dev/null; then
    openssl rand -base64 32
  else
    head -c 32 /dev/urandom | base64
  fi | tr '+/' '-_' | tr -d '=\n'
}

install -d -m 0755 -o root -g root "$ENV_DIR"
if [[ -e $ENV_FILE ]]; then
  say "keeping the existing $ENV_FILE"
else
  say "writing $ENV_FILE with a new random AUTH_TOKEN"
  token=$(new_token)
  [[ ${#token} -ge 40 ]] || die "could not make a random token"
  if [[ -n $SERVER_NAME ]]; then
    public_url="PUBLIC_URL=https://$SERVER_NAME"
  else
    public_url="#PUBLIC_URL=https://$PLACEHOLDER_NAME"
  fi
  if command -v nginx >/dev/null; then
    trust_proxy="TRUST_PROXY=true"
  else
    trust_proxy="#TRUST_PROXY=true"
  fi
  (
    # systemd reads this file as root before starting the service: nobody else needs it.
    umask 077
    tmp=$(mktemp "$ENV_DIR/.imgd.env.XXXXXX")
    trap 'rm -f -- "$tmp"' EXIT
    cat >"$tmp" <<EOF
# imgd settings for imgd.service and imgd-gc.service; read by systemd as root (mode 600).
# Every setting: $APP_DIR/README.md, "Configuration". After a change: systemctl restart imgd
# (DATA_DIR is /var/lib/imgd, set in the unit; the service can write nowhere else.)

# The admin bearer token: Authorization: Bearer <AUTH_TOKEN>
AUTH_TOKEN=$token

# Only nginx (on this machine) reaches imgd; it sets X-Forwarded-For/-Proto, so they are trusted.
HOST=127.0.0.1
PORT=8080
$trust_proxy
# The address clients use: the base of every URL the API hands out.
$public_url

# Keep nginx's client_max_body_size above this when you change it.
#MAX_FILE_SIZE=20971520
#LOG_LEVEL=info
EOF
    chown root:root "$tmp"
    chmod 0600 "$tmp"
    mv -- "$tmp" "$ENV_FILE"
  )
fi
# Also for a file written by hand or by an older version of this script.
chown root:root "$ENV_FILE"
chmod 0600 "$ENV_FILE"

# --- systemd units ------------------------------------------------------------------------------
units_changed=0
for unit in imgd.service imgd-gc.service imgd-gc.timer; do
  rendered=$(sed "s|^ExecStart=node |ExecStart=$NODE_BIN |" "$SCRIPT_DIR/systemd/$unit")
  if [[ ! -f $UNIT_DIR/$unit ]] || [[ $(cat "$UNIT_DIR/$unit") != "$rendered" ]]; then
    say "installing $UNIT_DIR/$unit"
    printf '%s\n' "$rendered" >"$UNIT_DIR/$unit"
    chmod 0644 "$UNIT_DIR/$unit"
    units_changed=1
  fi
done

port=$(sed -n 's/^PORT=\([0-9]\{1,5\}\)[[:space:]]*$/\1/p' "$ENV_FILE" | tail -n 1)
health_url="http://127.0.0.1:${port:-8080}/healthz"

if systemd_running; then
  systemctl daemon-reload
  systemctl enable --quiet imgd.service imgd-gc.timer
  if systemctl is-active --quiet imgd.service; then
    if [[ $units_changed == 1 || $rebuild == 1 ]]; then
      say "restarting imgd.service"
      systemctl restart imgd.service
    fi
  else
    say "starting imgd.service"
    systemctl start imgd.service
  fi
  systemctl start imgd-gc.timer
  healthy=0
  for _ in $(seq 1 30); do
    if "$NODE_BIN" -e "fetch('$health_url', { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then
      healthy=1
      break
    fi
    sleep 1
  done
  if [[ $healthy == 1 ]]; then
    say "imgd answers on $health_url"
  else
    warn "imgd does not answer on $health_url yet; see: journalctl -u imgd.service -n 50"
  fi
else
  warn "systemd is not running here (a container?): units installed, not started"
fi

# --- nginx --------------------------------------------------------------------------------------
nginx_reload() {
  if ! systemd_running; then
    warn "systemd is not running: reload nginx yourself (nginx -s reload)"
  elif systemctl is-active --quiet nginx; then
    systemctl reload nginx
  else
    systemctl enable --now nginx
  fi
}

if command -v nginx >/dev/null; then
  if [[ -d /etc/nginx/sites-available && -d /etc/nginx/sites-enabled ]]; then
    site=/etc/nginx/sites-available/imgd.conf
    enabled=/etc/nginx/sites-enabled/imgd.conf
  else
    site=/etc/nginx/imgd.conf
    enabled=/etc/nginx/conf.d/imgd.conf
  fi
  rendered=$(<"$SCRIPT_DIR/nginx/imgd.conf")
  if [[ -n $SERVER_NAME ]]; then
    rendered=${rendered//"$PLACEHOLDER_NAME"/"$SERVER_NAME"}
  fi
  if [[ ! -f $site ]]; then
    say "installing $site"
    printf '%s\n' "$rendered" >"$site"
    chmod 0644 "$site"
  elif [[ $(cat "$site") != "$rendered" ]]; then
    warn "keeping $site, which differs from $SCRIPT_DIR/nginx/imgd.conf (remove it to get the new one)"
  fi
  install -d -m 0755 "$ACME_ROOT"

  if grep -q "$PLACEHOLDER_NAME" "$site"; then
    warn "$site still says $PLACEHOLDER_NAME: not enabled. Run again with the server's name: sudo $0 images.your-domain.org"
  else
    missing=()
    while read -r cert; do
      [[ -f $cert ]] || missing+=("$cert")
    done < <(awk '$1 == "ssl_certificate" || $1 == "ssl_certificate_key" { sub(/;$/, "", $2); print $2 }' "$site")
    if ((${#missing[@]} > 0)); then
      warn "no TLS certificate yet (${missing[*]}): $site not enabled. Get one, e.g. certbot certonly --nginx -d ${SERVER_NAME:-<name>}, then run this again"
    else
      ln -sfn "$site" "$enabled"
      if nginx -t -q; then
        say "nginx site enabled: $enabled"
        nginx_reload
      else
        rm -f -- "$enabled"
        warn "nginx -t failed with $enabled (output above); disabled it again, nginx left as it was"
      fi
    fi
  fi
else
  say "nginx is not installed: skipping the site (see $SCRIPT_DIR/nginx/imgd.conf)"
fi

# --- summary ------------------------------------------------------------------------------------
if grep -q '^AUTH_TOKEN=.' "$ENV_FILE"; then
  token_where="AUTH_TOKEN in $ENV_FILE (root only): sudo grep ^AUTH_TOKEN= $ENV_FILE"
else
  token_where="generated by imgd on first start into $STATE_DIR/auth_token (no AUTH_TOKEN in $ENV_FILE)"
fi
cat <<EOF

imgd is installed.
  admin token  $token_where
  settings     $ENV_FILE, then: systemctl restart imgd
  data         $STATE_DIR
  service      systemctl status imgd; logs: journalctl -u imgd -f
  gc           daily (imgd-gc.timer); now: systemctl start imgd-gc.service
EOF
if ! grep -q '^PUBLIC_URL=' "$ENV_FILE"; then
  printf '  note         set PUBLIC_URL in %s to the address clients use\n' "$ENV_FILE"
fi
