#!/usr/bin/env bash
# Real OpenStack for imagesync's tests and demos: one Keystone, two regions (RegionOne,
# RegionTwo), one glance-api per region, from Debian bookworm packages, SQLite, on loopback.
#
# Usage:  scripts/openstack-loopback.sh [install|start|stop|status|env|reset]   (default: start)
#   install  apt-get install the Debian packages (idempotent; needs root and a Debian mirror;
#            waits for another running apt/dpkg instead of failing)
#   start    install if needed; on the first run initialise the state (db_sync, bootstrap,
#            catalog, pristine snapshot); on every later run stop whatever this script left
#            running, restore the pristine snapshot (unless OS_KEEP_STATE=1), then start
#            Keystone + 2x glance-api and wait until they answer
#   stop     stop the processes this script started (by their PID files only)
#   status   show PIDs and URLs
#   env      print `export` lines (OS_DIR, URLs, clouds.yaml) for other scripts:
#              eval "$(scripts/openstack-loopback.sh env)"
#   reset    stop + delete all state (the next start initialises from scratch)
#
# Everything lives under $OS_DIR (default /tmp/imagesync-openstack). Environment overrides:
#   OS_DIR, OS_HOST(127.0.0.1), KEYSTONE_PORT(15000), GLANCE1_PORT(19292), GLANCE2_PORT(19293),
#   COMPUTE1_PORT(18774), COMPUTE2_PORT(18775), NETWORK1_PORT(19696), NETWORK2_PORT(19697),
#   ADMIN_PASSWORD(secret),
#   GLANCE_PASSWORD(glance-secret), TOKEN_EXPIRATION(3600 s), OS_KEEP_STATE(0),
#   KEYSTONE_HASH_ROUNDS(4), KEYSTONE_CACHE(true), GLANCE_WORKERS(0)
# The default ports are off the usual OpenStack ones (5000, 9292, 8774) so this test cloud
# never collides with a real service, or with another copy of the recipe, on the same machine.
#
# This is a TEST cloud: weak password hashing, a known admin password, plain HTTP.
set -euo pipefail

# Bump when the initialisation changes, so existing state directories are rebuilt.
STATE_VERSION=1

OS_DIR=${OS_DIR:-/tmp/imagesync-openstack}
H=${OS_HOST:-127.0.0.1}
KS_PORT=${KEYSTONE_PORT:-15000}
G1_PORT=${GLANCE1_PORT:-19292}
G2_PORT=${GLANCE2_PORT:-19293}
C1_PORT=${COMPUTE1_PORT:-18774}
C2_PORT=${COMPUTE2_PORT:-18775}
N1_PORT=${NETWORK1_PORT:-19696}
N2_PORT=${NETWORK2_PORT:-19697}
ADMIN_PASSWORD=${ADMIN_PASSWORD:-secret}
GLANCE_PASSWORD=${GLANCE_PASSWORD:-glance-secret}
TOKEN_EXPIRATION=${TOKEN_EXPIRATION:-3600}
KS_URL="http://$H:$KS_PORT"
PACKAGES=(keystone glance-api python3-openstackclient openssh-server sqlite3 jq curl)
# Debian's OpenStack tools must run on Debian's python (/usr/bin/python3), not a pyenv/venv
# python that may come first in PATH (their shebangs are absolute, but helpers are not).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV || true

log() { printf '[%s] openstack-loopback: %s\n' "$(date +%T.%3N)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ----------------------------------------------------------------------------
packages_installed() {
  local p st
  for p in "${PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || return 1
    [ "$st" = installed ] || return 1
  done
}

do_install() {
  packages_installed && return 0
  [ "$(id -u)" = 0 ] || die "the Debian packages ${PACKAGES[*]} are missing; run 'sudo bash $0 install' once"
  log "installing Debian packages: ${PACKAGES[*]}"
  # Never let maintainer scripts start daemons (keystone, glance-api, sshd): we run our own
  # on other ports, and there may be no systemd. Docker images ship this file already; if we
  # create it, we remove it again so a real machine's later package installs behave normally.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  # dbconfig-common / admin bootstrap / endpoint registration in the postinsts: all off.
  # These are the package defaults; preseeded so that a changed default cannot bite.
  debconf-set-selections <<'EOF'
keystone keystone/configure_db boolean false
keystone keystone/create-admin-tenant boolean false
keystone keystone/register-endpoint boolean false
glance-common glance/configure_db boolean false
glance-common glance/configure_rabbit boolean false
glance-common glance/configure_ksat boolean false
glance-api glance/configure_api-endpoint boolean false
EOF
  # DPkg::Lock::Timeout: wait (up to 10 min) for an apt/dpkg that is already running
  # (unattended-upgrades, a provisioning script) instead of failing on the lock.
  local rc=0
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit)" ]; then
    apt-get update -q -o DPkg::Lock::Timeout=600 || rc=$?
  fi
  if [ "$rc" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o DPkg::Lock::Timeout=600 \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
      "${PACKAGES[@]}" || rc=$?
  fi
  [ "$made_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get failed (exit $rc) installing ${PACKAGES[*]}"
}

# ----------------------------------------------------------------------------
# Writes a file readable by its owner only (it may hold passwords); stdin is the content.
write_private() {
  : > "$1"
  chmod 600 "$1"
  cat > "$1"
}

write_configs() {
  mkdir -p "$OS_DIR"/{etc,log,run} "$OS_DIR"/keystone/{fernet-keys,credential-keys}
  chmod 700 "$OS_DIR" "$OS_DIR"/keystone/{fernet-keys,credential-keys}
  write_private "$OS_DIR/etc/keystone.conf" <<EOF
[DEFAULT]
log_dir = $OS_DIR/log
log_file = keystone.log
debug = false
[database]
connection = sqlite:///$OS_DIR/keystone/keystone.db
[token]
provider = fernet
expiration = $TOKEN_EXPIRATION
[fernet_tokens]
key_repository = $OS_DIR/keystone/fernet-keys/
[fernet_receipts]
key_repository = $OS_DIR/keystone/fernet-keys/
[credential]
key_repository = $OS_DIR/keystone/credential-keys/
[identity]
# bcrypt cost 4 instead of 12 (test cloud only!): together with the cache below, token
# issue drops from ~370 ms to ~12 ms and token validation from ~700 ms to ~11 ms.
password_hash_rounds = ${KEYSTONE_HASH_ROUNDS:-4}
[cache]
# in-process cache; safe only because keystone runs as ONE process (see the uwsgi ini)
enabled = ${KEYSTONE_CACHE:-true}
backend = oslo_cache.dict
EOF
  write_private "$OS_DIR/etc/keystone-uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
http-socket = $H:$KS_PORT
wsgi-file = /usr/bin/keystone-wsgi-public
env = OS_KEYSTONE_CONFIG_DIR=$OS_DIR/etc
master = true
# ONE process, ONE thread: keystone + SQLite + threads leaks connections ("SQLite objects
# created in a thread can only be used in that same thread", from SQLAlchemy's NullPool),
# which then leaves the DB locked ("database is locked" after 5 s, then a 500).
# One at a time is enough: 20 parallel token requests take ~0.25 s.
processes = 1
threads = 1
lazy-apps = true
die-on-term = true
no-orphans = true
need-app = true
# uwsgi segfaults in greenlet during Py_Finalize when stopped; harmless, and this skips it
skip-atexit-teardown = true
buffer-size = 65535
# uwsgi's http-socket closes every connection after one response, but without saying so:
# clients (keystonemiddleware in glance, via requests) then reuse the pooled connection and
# ~5% of those requests fail with "Connection aborted" / "Remote end closed connection",
# which glance turns into a 401 for a valid token. Saying "Connection: close" stops the reuse.
# (http-keepalive instead would pin the single worker to one client.)
add-header = Connection: close
logto = $OS_DIR/log/keystone-uwsgi.log
pidfile = $OS_DIR/run/keystone.pid
EOF
  # Our own copy of Debian's paste file: only the healthcheck "disable" path changes, so that
  # /healthcheck does not depend on (or get switched off by) a file under /etc/glance.
  cp /usr/share/glance-common/glance-api-paste.ini "$OS_DIR/etc/glance-api-paste.ini"
  sed -i "s|/etc/glance/healthcheck_disable|$OS_DIR/etc/glance_healthcheck_disable|" \
    "$OS_DIR/etc/glance-api-paste.ini"
  local r port region
  for r in 1 2; do
    if [ "$r" = 1 ]; then port=$G1_PORT; region=RegionOne; else port=$G2_PORT; region=RegionTwo; fi
    mkdir -p "$OS_DIR/glance$r"/{images,staging,tasks,lock}
    # workers = 0: Debian's init script says "Glance appears broken with uwsgi", so this is the
    # eventlet console script serving from the parent process (no fork): half the memory of
    # workers = 1. Multi-store (enabled_backends) also needs the staging and tasks stores,
    # which otherwise default to /var/lib/glance/... . keystonemiddleware looks up the
    # identity endpoint in ITS region_name + interface: hence identity endpoints in RegionTwo.
    write_private "$OS_DIR/etc/glance-api-r$r.conf" <<EOF
[DEFAULT]
bind_host = $H
bind_port = $port
workers = ${GLANCE_WORKERS:-0}
log_file = $OS_DIR/log/glance-api-r$r.log
debug = false
enabled_backends = fs:file
show_image_direct_url = false
# Operators often lower this; the tests set GLANCE_API_LIMIT_MAX=20 so that every client's
# pagination (limit capped by the server, then "next") is exercised against the real Glance.
api_limit_max = ${GLANCE_API_LIMIT_MAX:-1000}
[database]
connection = sqlite:///$OS_DIR/glance$r/glance.db
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $OS_DIR/glance$r/images/
[os_glance_staging_store]
filesystem_store_datadir = $OS_DIR/glance$r/staging/
[os_glance_tasks_store]
filesystem_store_datadir = $OS_DIR/glance$r/tasks/
[keystone_authtoken]
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = glance
password = $GLANCE_PASSWORD
region_name = $region
interface = public
[paste_deploy]
flavor = keystone
config_file = $OS_DIR/etc/glance-api-paste.ini
[oslo_concurrency]
lock_path = $OS_DIR/glance$r/lock
EOF
  done
}

write_clouds_yaml() {
  write_private "$OS_DIR/clouds.yaml" <<EOF
clouds:
  local:
    auth:
      auth_url: $KS_URL/v3
      username: admin
      password: $(jq -n --arg p "$ADMIN_PASSWORD" '$p')
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    identity_api_version: 3
    interface: public
    region_name: RegionOne
EOF
  write_private "$OS_DIR/openrc" <<EOF
export OS_AUTH_URL=$KS_URL/v3
export OS_USERNAME=admin
export OS_PASSWORD=$(printf '%q' "$ADMIN_PASSWORD")
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_IDENTITY_API_VERSION=3
export OS_INTERFACE=public
export OS_REGION_NAME=RegionOne
EOF
}

# ----------------------------------------------------------------------------
# alive = exists and is not a zombie: our daemons are re-parented to PID 1, and after a kill
# they sit as zombies for a moment, during which `kill -0` still reports them alive.
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$st" ] && [ "${st#Z}" = "$st" ]; }
pid_alive() { [ -f "$1" ] && alive "$(cat "$1")"; }

wait_http() { # url timeout_s pidfile logfile...: fails fast when the process died
  local url=$1 max=$(( $2 * 10 )) pidfile=$3 i=0
  shift 3
  until curl -s -o /dev/null --max-time 2 "$url"; do
    i=$((i + 1))
    # pid check only after 2 s: uwsgi --daemonize2 rewrites its pidfile once it has forked
    if [ "$i" -ge "$max" ] || { [ "$i" -gt 20 ] && ! pid_alive "$pidfile"; }; then
      log "FAILED waiting for $url"
      tail -n 30 "$@" >&2 || true
      return 1
    fi
    sleep 0.1
  done
}

port_free() { # port: fails with a message when something already listens there
  if (exec 3<>"/dev/tcp/$H/$1") 2>/dev/null; then
    log "port $H:$1 is already in use by another process (set $2 to use another port)"
    return 1
  fi
}

start_keystone() {
  pid_alive "$OS_DIR/run/keystone.pid" && { log "keystone already running"; return 0; }
  port_free "$KS_PORT" KEYSTONE_PORT
  # stdio away from the caller: a daemon holding the caller's pipes would keep it waiting
  uwsgi --ini "$OS_DIR/etc/keystone-uwsgi.ini" --daemonize2 "$OS_DIR/log/keystone-uwsgi.log" \
    < /dev/null >> "$OS_DIR/log/keystone-uwsgi.stdout" 2>&1
}

start_glance() { # region number
  local r=$1 pidfile="$OS_DIR/run/glance-r$1.pid"
  pid_alive "$pidfile" && { log "glance r$r already running"; return 0; }
  if [ "$r" = 1 ]; then port_free "$G1_PORT" GLANCE1_PORT; else port_free "$G2_PORT" GLANCE2_PORT; fi
  # The shell writes its own PID and then execs glance-api, so the PID file is right even
  # when setsid has to fork (it does when the caller leads its process group).
  # shellcheck disable=SC2016  # $$, $1, $2 are for the inner shell
  setsid bash -c 'echo "$$" > "$1"; exec glance-api --config-file "$2"' glance "$pidfile" \
    "$OS_DIR/etc/glance-api-r$r.conf" < /dev/null >> "$OS_DIR/log/glance-api-r$r.stdout" 2>&1 &
  local i
  for i in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.02; done
}

stop_pid() { # name
  local f="$OS_DIR/run/$1.pid" pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [ -n "$pid" ] && alive "$pid"; then
    # uwsgi's master shuts down cleanly on SIGINT (SIGTERM means "reload" for it)
    if [ "$1" = keystone ]; then kill -INT "$pid"; else kill -TERM "$pid"; fi
    for i in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

# Keystone REST helper: ks METHOD PATH [JSON]; needs $TOKEN
ks() {
  curl -sS -f -X "$1" "$KS_URL/v3$2" -H "X-Auth-Token: $TOKEN" \
    -H 'Content-Type: application/json' ${3:+-d "$3"}
}

# endpoint SERVICE_ID REGION INTERFACE URL
ep() {
  ks POST /endpoints "$(jq -nc --arg s "$1" --arg r "$2" --arg i "$3" --arg u "$4" \
    '{endpoint: {service_id: $s, region_id: $r, interface: $i, url: $u}}')" > /dev/null
}

init_state() {
  log "initialising state in $OS_DIR (first run: about 20 s)"
  write_configs
  local kcf=(--config-file "$OS_DIR/etc/keystone.conf")
  local user group
  user=$(id -un); group=$(id -gn)
  log "keystone db_sync"
  keystone-manage "${kcf[@]}" db_sync
  keystone-manage "${kcf[@]}" fernet_setup --keystone-user "$user" --keystone-group "$group"
  keystone-manage "${kcf[@]}" credential_setup --keystone-user "$user" --keystone-group "$group"
  log "keystone bootstrap"
  keystone-manage "${kcf[@]}" bootstrap \
    --bootstrap-username admin --bootstrap-password "$ADMIN_PASSWORD" \
    --bootstrap-project-name admin --bootstrap-role-name admin \
    --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
    --bootstrap-public-url "$KS_URL/v3" --bootstrap-internal-url "$KS_URL/v3" \
    --bootstrap-admin-url "$KS_URL/v3"
  log "glance db_sync"
  glance-manage --config-file "$OS_DIR/etc/glance-api-r1.conf" db_sync
  cp "$OS_DIR/glance1/glance.db" "$OS_DIR/glance2/glance.db"   # same schema: saves one db_sync
  # WAL journal mode is REQUIRED: in the default rollback-journal mode keystone deadlocks on
  # itself (POST /v3/services -> 5 s -> "database is locked" -> 500), because a read
  # connection is still open while the write commits. The mode persists in the file.
  local db
  for db in "$OS_DIR/keystone/keystone.db" "$OS_DIR/glance1/glance.db" "$OS_DIR/glance2/glance.db"; do
    sqlite3 "$db" 'PRAGMA journal_mode=WAL;' > /dev/null
  done

  log "start keystone, create the catalog"
  start_keystone
  wait_http "$KS_URL/v3" 60 "$OS_DIR/run/keystone.pid" \
    "$OS_DIR/log/keystone-uwsgi.stdout" "$OS_DIR/log/keystone-uwsgi.log"
  local auth
  auth=$(jq -nc --arg p "$ADMIN_PASSWORD" '{auth: {
    identity: {methods: ["password"], password: {user: {name: "admin", domain: {id: "default"}, password: $p}}},
    scope: {project: {name: "admin", domain: {id: "default"}}}}}')
  TOKEN=$(curl -sS -f -D - -o /dev/null "$KS_URL/v3/auth/tokens" -H 'Content-Type: application/json' \
    -d "$auth" | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r')
  [ -n "$TOKEN" ] || die "keystone issued no admin token (see $OS_DIR/log/keystone.log)"
  local svc_project glance_user admin_role img_svc cmp_svc net_svc ident_svc i
  ks POST /regions '{"region":{"id":"RegionTwo","description":"second region"}}' > /dev/null
  svc_project=$(ks POST /projects '{"project":{"name":"service","domain_id":"default","description":"service project"}}' | jq -r .project.id)
  glance_user=$(ks POST /users "$(jq -nc --arg p "$GLANCE_PASSWORD" '{user: {name: "glance", domain_id: "default", password: $p}}')" | jq -r .user.id)
  admin_role=$(ks GET '/roles?name=admin' | jq -r '.roles[0].id')
  ks PUT "/projects/$svc_project/users/$glance_user/roles/$admin_role" > /dev/null
  img_svc=$(ks POST /services '{"service":{"type":"image","name":"glance","description":"OpenStack Image"}}' | jq -r .service.id)
  cmp_svc=$(ks POST /services '{"service":{"type":"compute","name":"nova","description":"OpenStack Compute"}}' | jq -r .service.id)
  net_svc=$(ks POST /services '{"service":{"type":"network","name":"neutron","description":"OpenStack Networking"}}' | jq -r .service.id)
  ident_svc=$(ks GET '/services?type=identity' | jq -r '.services[0].id')
  ep "$img_svc" RegionOne public "http://$H:$G1_PORT"
  ep "$img_svc" RegionTwo public "http://$H:$G2_PORT"
  # compute endpoints point at ports nobody serves here (no hypervisor): the emulator does
  ep "$cmp_svc" RegionOne public "http://$H:$C1_PORT/v2.1"
  ep "$cmp_svc" RegionTwo public "http://$H:$C2_PORT/v2.1"
  # network endpoints too (unversioned, as Neutron's are): served by the emulator's compute-only mode
  ep "$net_svc" RegionOne public "http://$H:$N1_PORT"
  ep "$net_svc" RegionTwo public "http://$H:$N2_PORT"
  # glance's keystonemiddleware in RegionTwo looks for identity in RegionTwo (see above)
  for i in public internal admin; do ep "$ident_svc" RegionTwo "$i" "$KS_URL/v3"; done
  log "catalog done; pristine snapshot"
  # stop keystone so the snapshot is consistent (SQLite files closed, WAL checkpointed)
  stop_pid keystone
  rm -rf "$OS_DIR/pristine"; mkdir -p "$OS_DIR/pristine"
  cp -a "$OS_DIR/keystone" "$OS_DIR/glance1" "$OS_DIR/glance2" "$OS_DIR/pristine/"
}

# Endpoints and passwords are baked into the SQLite DBs, so the state is rebuilt when any of
# them changes. Only a hash is kept, so the file holds no password.
state_signature() {
  printf '%s ' "$STATE_VERSION" "$H" "$KS_PORT" "$G1_PORT" "$G2_PORT" "$C1_PORT" "$C2_PORT" "$N1_PORT" "$N2_PORT" \
    "$ADMIN_PASSWORD" "$GLANCE_PASSWORD" "$TOKEN_EXPIRATION" | sha256sum | cut -d' ' -f1
}

do_start() {
  do_install
  # A start that fails half-way stops what it started: no stray daemons hold the ports.
  trap 'rc=$?; if [ "$rc" != 0 ]; then log "start failed; stopping what it started"; do_stop; fi' EXIT
  local sig
  sig=$(state_signature)
  if [ ! -f "$OS_DIR/.initialised" ] || [ "$(cat "$OS_DIR/.initialised")" != "$sig" ]; then
    do_stop
    rm -rf "$OS_DIR"/{keystone,glance1,glance2,pristine} "$OS_DIR/.initialised"
    init_state
    echo "$sig" > "$OS_DIR/.initialised"
  else
    write_configs
    if [ "${OS_KEEP_STATE:-0}" != 1 ]; then
      # every start begins from the pristine cloud, even after a run that never stopped
      do_stop
      rm -rf "$OS_DIR"/{keystone,glance1,glance2}
      cp -a "$OS_DIR/pristine/"{keystone,glance1,glance2} "$OS_DIR/"
    fi
  fi
  write_clouds_yaml
  # keep the previous run's logs as *.1 (for debugging), so logs do not grow without end
  local f
  for f in "$OS_DIR"/log/*.log "$OS_DIR"/log/*.stdout; do
    if [ -f "$f" ] && ! pid_alive "$OS_DIR/run/keystone.pid"; then mv -f "$f" "$f.1"; fi
  done
  # probe all ports before starting anything
  pid_alive "$OS_DIR/run/keystone.pid" || port_free "$KS_PORT" KEYSTONE_PORT
  pid_alive "$OS_DIR/run/glance-r1.pid" || port_free "$G1_PORT" GLANCE1_PORT
  pid_alive "$OS_DIR/run/glance-r2.pid" || port_free "$G2_PORT" GLANCE2_PORT
  start_keystone
  start_glance 1
  start_glance 2
  wait_http "$KS_URL/v3" 60 "$OS_DIR/run/keystone.pid" \
    "$OS_DIR/log/keystone-uwsgi.stdout" "$OS_DIR/log/keystone-uwsgi.log"
  wait_http "http://$H:$G1_PORT/healthcheck" 60 "$OS_DIR/run/glance-r1.pid" \
    "$OS_DIR/log/glance-api-r1.stdout" "$OS_DIR/log/glance-api-r1.log"
  wait_http "http://$H:$G2_PORT/healthcheck" 60 "$OS_DIR/run/glance-r2.pid" \
    "$OS_DIR/log/glance-api-r2.stdout" "$OS_DIR/log/glance-api-r2.log"
  log "up: keystone $KS_URL/v3  glance RegionOne http://$H:$G1_PORT  RegionTwo http://$H:$G2_PORT"
  log "credentials: OS_CLIENT_CONFIG_FILE=$OS_DIR/clouds.yaml OS_CLOUD=local  (or: source $OS_DIR/openrc)"
  trap - EXIT
}

do_stop() {
  stop_pid glance-r1; stop_pid glance-r2; stop_pid keystone
}

do_status() {
  local n
  for n in keystone glance-r1 glance-r2; do
    if pid_alive "$OS_DIR/run/$n.pid"; then echo "$n running pid $(cat "$OS_DIR/run/$n.pid")"; else echo "$n stopped"; fi
  done
  echo "keystone $KS_URL/v3  glance RegionOne http://$H:$G1_PORT  RegionTwo http://$H:$G2_PORT"
}

do_env() {
  local name value
  while read -r name value; do
    printf 'export %s=%q\n' "$name" "$value"
  done <<EOF
OS_DIR $OS_DIR
KEYSTONE_URL $KS_URL/v3
GLANCE_REGIONONE_URL http://$H:$G1_PORT
GLANCE_REGIONTWO_URL http://$H:$G2_PORT
COMPUTE_REGIONONE_URL http://$H:$C1_PORT/v2.1
COMPUTE_REGIONTWO_URL http://$H:$C2_PORT/v2.1
NETWORK_REGIONONE_URL http://$H:$N1_PORT
NETWORK_REGIONTWO_URL http://$H:$N2_PORT
OS_CLIENT_CONFIG_FILE $OS_DIR/clouds.yaml
OS_CLOUD local
EOF
}

case "${1:-start}" in
  install) do_install ;;
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  env) do_env ;;
  reset) do_stop; rm -rf "$OS_DIR" ;;
  *) echo "usage: $0 [install|start|stop|status|env|reset]" >&2; exit 2 ;;
esac
