#!/usr/bin/env bash
# Real OpenStack for imagesync's tests and demos, from Debian bookworm packages, on loopback,
# SQLite everywhere: one Keystone and, in each of two regions (RegionOne, RegionTwo), a
# glance-api, a Placement, a neutron-server (ML2, no agents) and a whole Nova (nova-api,
# nova-conductor, nova-scheduler, one nova-compute with Nova's in-tree fake virt driver), the
# Novas and Neutrons talking over one RabbitMQ (a vhost each).
#
# Usage:  scripts/openstack-loopback.sh [install|start|stop|status|env|reset]   (default: start)
#   install  apt-get install the Debian packages (idempotent; needs root and a Debian mirror;
#            waits for another running apt/dpkg instead of failing)
#   start    install if needed; on the first run initialise the state (db syncs, cells,
#            bootstrap, catalog, flavors, networks, pristine snapshot); on every later run stop
#            whatever this script left running, restore the pristine snapshot (unless
#            OS_KEEP_STATE=1), then start every daemon and wait until each answers (the
#            nova-compute of each region reported "up", so a boot can be scheduled at once)
#   stop     stop the processes this script started (by their PID files only)
#   status   show PIDs and URLs
#   env      print `export` lines (OS_DIR, URLs, clouds.yaml) for other scripts:
#              eval "$(scripts/openstack-loopback.sh env)"
#   reset    stop + delete all state (the next start initialises from scratch)
#
# Everything lives under $OS_DIR (default /tmp/imagesync-openstack). Environment overrides:
#   OS_DIR, OS_HOST(127.0.0.1), KEYSTONE_PORT(15000), GLANCE1_PORT(19292), GLANCE2_PORT(19293),
#   NOVA1_PORT(18884), NOVA2_PORT(18885), NEUTRON1_PORT(19706), NEUTRON2_PORT(19707),
#   PLACEMENT1_PORT(18778), PLACEMENT2_PORT(18779), RABBIT_PORT(15673), RABBIT_DIST_PORT(25673),
#   RABBIT_EPMD_PORT(14369),
#   COMPUTE1_PORT(18774), COMPUTE2_PORT(18775), NETWORK1_PORT(19696), NETWORK2_PORT(19697),
#   ADMIN_PASSWORD(secret), GLANCE_PASSWORD(glance-secret), SERVICE_PASSWORD(service-secret),
#   RABBIT_PASSWORD(rabbit-secret), TOKEN_EXPIRATION(3600 s), OS_KEEP_STATE(0),
#   KEYSTONE_HASH_ROUNDS(4), KEYSTONE_CACHE(true), GLANCE_WORKERS(0), GLANCE_API_LIMIT_MAX(1000),
#   NOVA_API_MAX_LIMIT(1000)
# The default ports are off the usual OpenStack ones (5000, 9292, 8774, 9696, 8778, 5672, 4369)
# so this test cloud never collides with a real service, or with another copy of the recipe, on
# the same machine. RabbitMQ runs its own epmd on RABBIT_EPMD_PORT, with its node name, cookie,
# Mnesia and logs under $OS_DIR: nothing is shared with a system RabbitMQ.
#
# The catalog (cloud "local" in $OS_DIR/clouds.yaml) lists the REAL services: compute = nova-api
# (NOVA*_PORT), network = neutron-server (NEUTRON*_PORT), placement, image, identity.
# COMPUTE*_PORT / NETWORK*_PORT are NOT in the catalog: they are where tests start the
# emulator's compute-only server (src/emulator/compute-only.ts). The second cloud of clouds.yaml,
# "local-emulated-compute", is the same Keystone and Glance with openstacksdk's per-region
# `compute_endpoint_override` / `network_endpoint_override` pointing at those ports, so a client
# (imagesync, the openstack CLI) talks to the emulator for compute and network and to the real
# Keystone and Glance for the rest.
#
# What the fake driver (nova.virt.fake.FakeDriver) can and cannot do: servers are scheduled,
# get a real Neutron port and address, go BUILD -> ACTIVE, stop -> SHUTOFF, delete; the console
# log is the driver's constant "FAKE CONSOLE OUTPUT" (no guest, so no cloud-init host keys);
# createImage creates the image record in Glance but uploads nothing (it stays "queued").
#
# Two regions are two whole deployments (Placement, Neutron, Nova with its API DB and cells),
# not two cells of one Nova: regions are a catalog notion, and cells are invisible in the API,
# so two cells would still show every server in both "regions". Each Nova has one cell (cell1)
# plus cell0; 16 daemons (34 processes with uwsgi masters, neutron's forked workers and the
# Erlang VM), about 4 GB of RSS together (shared pages counted in each).
#
# Databases: SQLite everywhere, no MariaDB. It works for Nova's API, cell0 and cell1 DBs
# (nova-manage api_db sync / db sync run their migrations on SQLite), for Placement and
# Neutron, given three things done below: WAL journal mode, a long busy timeout, and every
# transaction begun IMMEDIATE (see write_sqlite_immediate), because several processes write the
# same files; and Neutron's schema comes from its models, as its migrations cannot run on SQLite.
#
# Pitfalls met on the way (each explained where it is handled):
#  - `rabbitmq-server --help` does not print help: it starts a broker on the default ports.
#  - nova-compute's Debian package depends on libvirt + qemu-system (+70 packages): not
#    installed; its console script is one line of python (nova_cmd).
#  - neutron-db-manage upgrade heads fails on SQLite (init_schemas).
#  - Without an agent no ML2 driver binds a port, and Nova sends a server with an unbound port
#    to ERROR; Neutron's in-tree "test" driver binds on one host name (COMPUTE_HOST), once its
#    self-checks are off (start_neutron).
#  - Neutron 21's GET /v2.0/ports?device_id= is a 500 unless the port forwarding model is
#    imported and mapped (start_neutron).
#  - "database is locked" at once, not after the busy timeout: oslo.db's deferred BEGIN on a
#    stale WAL snapshot (write_sqlite_immediate).
#  - Nova's default quotas (10 instances) stop a test run half-way ([quota] in nova.conf).
#  - The two Novas need a RabbitMQ vhost each (write_rabbit_config); RabbitMQ's epmd outlives
#    the broker (stop_all).
#  - neutron-server took 15 s to stop (graceful_shutdown_timeout).
#
# Timings on the 2-CPU machine while other engineers' test suites kept it at load 13-19 (a quiet
# CI machine is faster):
#  - apt-get install of the new packages (nova-conductor nova-scheduler python3-placement
#    placement-common neutron-common rabbitmq-server: 105 packages with their dependencies):
#    57 s; with Keystone + Glance from nothing about 2 min.
#  - first start (schemas, cells, catalog, flavors, networks, host discovery, pristine snapshot):
#    2 min 22 s - 3 min (it was 5 min before the online snapshot, on a busier machine).
#  - later start (restore the pristine state, 16 daemons, until every Nova service is up):
#    46-48 s, of which RabbitMQ's boot among 15 python daemons 22-26 s; stop: 5 s.
#
# This is a TEST cloud: weak password hashing, known passwords, plain HTTP.
set -euo pipefail

# Bump when the initialisation changes, so existing state directories are rebuilt.
STATE_VERSION=3

OS_DIR=${OS_DIR:-/tmp/imagesync-openstack}
H=${OS_HOST:-127.0.0.1}
KS_PORT=${KEYSTONE_PORT:-15000}
G1_PORT=${GLANCE1_PORT:-19292}
G2_PORT=${GLANCE2_PORT:-19293}
NV1_PORT=${NOVA1_PORT:-18884}
NV2_PORT=${NOVA2_PORT:-18885}
NT1_PORT=${NEUTRON1_PORT:-19706}
NT2_PORT=${NEUTRON2_PORT:-19707}
PL1_PORT=${PLACEMENT1_PORT:-18778}
PL2_PORT=${PLACEMENT2_PORT:-18779}
RMQ_PORT=${RABBIT_PORT:-15673}
RMQ_DIST_PORT=${RABBIT_DIST_PORT:-25673}
EPMD_PORT=${RABBIT_EPMD_PORT:-14369}
C1_PORT=${COMPUTE1_PORT:-18774}
C2_PORT=${COMPUTE2_PORT:-18775}
N1_PORT=${NETWORK1_PORT:-19696}
N2_PORT=${NETWORK2_PORT:-19697}
ADMIN_PASSWORD=${ADMIN_PASSWORD:-secret}
GLANCE_PASSWORD=${GLANCE_PASSWORD:-glance-secret}
SERVICE_PASSWORD=${SERVICE_PASSWORD:-service-secret}
RABBIT_PASSWORD=${RABBIT_PASSWORD:-rabbit-secret}
TOKEN_EXPIRATION=${TOKEN_EXPIRATION:-3600}
KS_URL="http://$H:$KS_PORT"
REGIONS=(RegionOne RegionTwo)
# SQLite's busy timeout (s) for the DBs several processes write at once (nova-api, -conductor,
# -scheduler share the API and cell DBs; neutron-server's API and RPC workers share its DB).
# pysqlite's default of 5 s is not enough on a busy 2-CPU machine: nova-conductor failed a
# compute's state report, and once a boot ("sqlite3.OperationalError: database is locked").
# SQLAlchemy passes ?timeout= on to sqlite3.connect. WAL (see init_keystone) is needed too.
SQLITE_TIMEOUT=60
# nova-compute's host name. It is also the port binding host Nova asks Neutron for, and
# Neutron's in-tree "test" ML2 mechanism driver binds ports (vif_type ovs, status ACTIVE) on a
# host of exactly this name, and on no other: see write_neutron_config.
COMPUTE_HOST=host-ovs-filter-active
# nova-compute, nova-conductor and nova-scheduler run from python3-nova + the nova-conductor /
# nova-scheduler packages; nova-compute's own package is NOT installed: it only holds the
# /usr/bin/nova-compute console script but depends on libvirt + qemu-system (+70 packages, a
# libvirtd), none of which the fake driver uses. placement and neutron come as their python
# packages + the -common ones (placement-api / neutron-server only add init scripts).
PACKAGES=(keystone glance-api python3-openstackclient openssh-server sqlite3 jq curl
  nova-conductor nova-scheduler python3-placement placement-common neutron-common rabbitmq-server)
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
  # Never let maintainer scripts start daemons (keystone, glance-api, sshd, rabbitmq-server,
  # nova-*, epmd): we run our own
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
nova-common nova/configure_db boolean false
nova-common nova/configure_ksat boolean false
nova-common nova/configure_placement boolean false
nova-common nova/configure_neutron boolean false
placement-common placement/configure_db boolean false
placement-common placement/configure_ksat boolean false
neutron-common neutron/configure_db boolean false
neutron-common neutron/configure_nova boolean false
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

# write_uwsgi_ini NAME PORT WSGI_FILE ENV [IMPORT]: the uwsgi settings all our WSGI apps share
# (keystone, placement, nova-api), one config dir each; IMPORT: a module of $OS_DIR/etc/py
# to load first.
write_uwsgi_ini() {
  write_private "$OS_DIR/etc/$1-uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
${5:+pythonpath = $OS_DIR/etc/py
import = $5}
http-socket = $H:$2
wsgi-file = $3
env = $4
master = true
# ONE process, ONE thread: keystone + SQLite + threads leaks connections ("SQLite objects
# created in a thread can only be used in that same thread", from SQLAlchemy's NullPool),
# which then leaves the DB locked ("database is locked" after 5 s, then a 500).
# One at a time is enough: 20 parallel token requests take ~0.25 s. The same holds for
# placement and nova-api on SQLite.
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
logto = $OS_DIR/log/$1-uwsgi.log
pidfile = $OS_DIR/run/$1.pid
EOF
}

# Every SQLite transaction of nova-*, placement and neutron-server begins with BEGIN IMMEDIATE.
# oslo.db switches pysqlite's own BEGIN off and emits a plain (DEFERRED) BEGIN: the first SELECT
# takes a WAL snapshot, and when another process commits before this transaction's first write,
# SQLite cannot upgrade the stale snapshot to a write lock and answers SQLITE_BUSY AT ONCE, busy
# timeout or not: nova-api's createImage was a 500 ("sqlite3.OperationalError: database is
# locked") while nova-conductor was writing the same cell DB. IMMEDIATE takes the write lock
# at BEGIN, so concurrent transactions wait for each other (SQLITE_TIMEOUT) instead of failing.
# The daemons load this as sitecustomize (PYTHONPATH) or uwsgi's `import`.
write_sqlite_immediate() {
  mkdir -p "$OS_DIR/etc/py"
  cat > "$OS_DIR/etc/py/sqlite_immediate.py" <<'EOF'
"""Makes every SQLite transaction of this process begin with BEGIN IMMEDIATE (openstack-loopback.sh)."""
import sqlite3
import sqlite3.dbapi2


class _Cursor(sqlite3.Cursor):
    def execute(self, sql, *args):
        if isinstance(sql, str) and sql.strip().upper() == 'BEGIN':
            sql = 'BEGIN IMMEDIATE'
        return super().execute(sql, *args)


class _Connection(sqlite3.Connection):
    def cursor(self, factory=_Cursor):
        return super().cursor(factory)


_connect = sqlite3.dbapi2.connect


def connect(*args, **kwargs):
    kwargs.setdefault('factory', _Connection)
    return _connect(*args, **kwargs)


sqlite3.connect = sqlite3.dbapi2.connect = connect
EOF
  echo 'import sqlite_immediate  # noqa: F401' > "$OS_DIR/etc/py/sitecustomize.py"
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
  write_uwsgi_ini keystone "$KS_PORT" /usr/bin/keystone-wsgi-public "OS_KEYSTONE_CONFIG_DIR=$OS_DIR/etc"
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
# Interoperable import: glance-direct (stage + import), web-download (a URL), copy-image, and
# glance-download (Zed: from another region of this Keystone, with the caller's token and the
# catalog keystonemiddleware forwards). Both download methods fetch through import_filtering_opts.
enabled_import_methods = [glance-direct,web-download,copy-image,glance-download]
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
[import_filtering_opts]
# Loopback is refused by default (and only ports 80/443 allowed): this test cloud's other Glance
# and the tests' web servers listen on $H at high ports.
allowed_hosts = [$H]
allowed_ports = []
[paste_deploy]
flavor = keystone
config_file = $OS_DIR/etc/glance-api-paste.ini
[oslo_concurrency]
lock_path = $OS_DIR/glance$r/lock
$(authtoken_section glance "$region" "$GLANCE_PASSWORD")
EOF
  done
  write_rabbit_config
  write_sqlite_immediate
  for r in 1 2; do
    write_placement_config "$r"
    write_neutron_config "$r"
    write_nova_config "$r"
  done
}

# port KIND R: the port of a per-region service (KIND = G, PL, NT, NV, C, N; R = 1 or 2)
port() { local v="$1$2_PORT"; echo "${!v}"; }
region_name() { echo "${REGIONS[$(($1 - 1))]}"; }

# The [keystone_authtoken] section every service shares: its own user in project "service".
# keystonemiddleware looks up the identity endpoint in ITS region_name + interface (see glance).
authtoken_section() { # user region [password]
  cat <<EOF
[keystone_authtoken]
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = ${3:-$SERVICE_PASSWORD}
region_name = $2
interface = public
EOF
}

# A keystoneauth section for service-to-service calls (nova -> placement/neutron, neutron -> nova).
ksa_section() { # section user region
  cat <<EOF
[$1]
auth_type = password
auth_url = $KS_URL/v3
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $SERVICE_PASSWORD
region_name = $3
valid_interfaces = public
EOF
}

# Sections Nova and Neutron share: their lock dir, no notifications, the broker's retry.
common_sections() { # lock dir
  cat <<EOF
[oslo_concurrency]
lock_path = $1
[oslo_messaging_notifications]
driver = noop
[oslo_messaging_rabbit]
# retry the broker every second, not with a backoff growing to 30 s: they start before it is up
rabbit_interval_max = 1
EOF
}

rabbit_url() { # vhost
  echo "rabbit://imagesync:$RABBIT_PASSWORD@$H:$RMQ_PORT/$1"
}

# RabbitMQ: our own node name, epmd port, cookie ($HOME), Mnesia, logs and config, so it never
# meets the system's RabbitMQ (whose files are under /var/lib/rabbitmq and /etc/rabbitmq) or
# another copy of this recipe. The user and the four vhosts (nova1, nova2, neutron1, neutron2)
# come from a definitions file loaded at every boot, so no rabbitmqctl call (each one boots an
# Erlang VM: ~1.5 s) is ever needed. The two Novas MUST have a vhost each: on one vhost their
# queues ("conductor", "scheduler", "compute.<host>") would be the same queues.
write_rabbit_config() {
  mkdir -p "$OS_DIR/rabbitmq" "$OS_DIR/log/rabbitmq"
  chmod 700 "$OS_DIR/rabbitmq"
  write_private "$OS_DIR/etc/rabbitmq.conf" <<EOF
listeners.tcp.default = $H:$RMQ_PORT
distribution.listener.interface = $H
distribution.listener.port_range.min = $RMQ_DIST_PORT
distribution.listener.port_range.max = $RMQ_DIST_PORT
load_definitions = $OS_DIR/etc/rabbitmq-definitions.json
loopback_users = none
log.console = false
log.file.level = warning
# a test cloud on a shared disk: do not block publishers when the disk is 50 MB from full
disk_free_limit.absolute = 10MB
EOF
  echo '[].' > "$OS_DIR/etc/rabbitmq-enabled-plugins"
  : > "$OS_DIR/etc/rabbitmq-env.conf"
  # RabbitMQ's own password hash: base64(salt . sha256(salt . password)), 4 bytes of salt.
  local hash
  hash=$(RP="$RABBIT_PASSWORD" /usr/bin/python3 -c 'import base64,hashlib,os
s=os.urandom(4); print(base64.b64encode(s+hashlib.sha256(s+os.environ["RP"].encode()).digest()).decode())')
  jq -n --arg h "$hash" '{
    users: [{name: "imagesync", password_hash: $h, hashing_algorithm: "rabbit_password_hashing_sha256", tags: ["administrator"]}],
    vhosts: [{name: "nova1"}, {name: "nova2"}, {name: "neutron1"}, {name: "neutron2"}],
    permissions: [("nova1", "nova2", "neutron1", "neutron2") | {user: "imagesync", vhost: ., configure: ".*", write: ".*", read: ".*"}]
  }' | write_private "$OS_DIR/etc/rabbitmq-definitions.json"
}

write_placement_config() { # region number
  local r=$1 region
  region=$(region_name "$r")
  mkdir -p "$OS_DIR/etc/placement$r" "$OS_DIR/placement$r"
  {
    cat <<EOF
[DEFAULT]
log_file = $OS_DIR/log/placement-r$r.log
debug = false
[api]
auth_strategy = keystone
[placement_database]
connection = sqlite:///$OS_DIR/placement$r/placement.db?timeout=$SQLITE_TIMEOUT
EOF
    authtoken_section placement "$region"
  } | write_private "$OS_DIR/etc/placement$r/placement.conf"
  write_uwsgi_ini "placement-r$r" "$(port PL "$r")" /usr/bin/placement-api "OS_PLACEMENT_CONFIG_DIR=$OS_DIR/etc/placement$r" sqlite_immediate
}

# neutron-server with ML2 and no agent at all: no DHCP, no L3, no OVS agent. Ports still need a
# binding (Nova refuses a port whose binding:vif_type is "binding_failed": PortBindingFailed,
# the server goes to ERROR), and every real mechanism driver (openvswitch, linuxbridge) binds
# only on a host whose agent reported alive. Neutron ships a "test" mechanism driver (in
# python3-neutron's neutron.tests, registered as the "test" entry point) that binds ports on a
# host named exactly "host-ovs-filter-active" (vif_type ovs, port ACTIVE) without any agent:
# hence nova-compute's host name (COMPUTE_HOST). Routers and floating IPs are pure API objects
# here (no L3 agent): created, associated and listed as on a real cloud, never forwarding.
write_neutron_config() { # region number
  local r=$1 region
  region=$(region_name "$r")
  mkdir -p "$OS_DIR/etc/neutron$r" "$OS_DIR/neutron$r/lock"
  cp /usr/share/neutron-common/api-paste.ini "$OS_DIR/etc/neutron$r/api-paste.ini"
  {
    cat <<EOF
[DEFAULT]
bind_host = $H
bind_port = $(port NT "$r")
log_file = $OS_DIR/log/neutron-server-r$r.log
debug = false
state_path = $OS_DIR/neutron$r
api_paste_config = $OS_DIR/etc/neutron$r/api-paste.ini
auth_strategy = keystone
core_plugin = ml2
service_plugins = router
# API and RPC in the one process (eventlet): every worker is another ~120 MB python
api_workers = 0
rpc_workers = 0
rpc_state_report_workers = 0
transport_url = $(rabbit_url "neutron$r")
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
dhcp_agent_notification = false
allow_overlapping_ips = true
# its API + RPC + periodic workers took the whole 15 s of stop_all's grace (oslo.service waits
# up to 60 s for them); SQLite in WAL mode is safe however a process ends
graceful_shutdown_timeout = 3
[database]
connection = sqlite:///$OS_DIR/neutron$r/neutron.db?timeout=$SQLITE_TIMEOUT
[ml2]
type_drivers = flat,local
tenant_network_types = local
mechanism_drivers = test
extension_drivers = port_security
[ml2_type_flat]
flat_networks = public
[securitygroup]
firewall_driver = noop
EOF
    common_sections "$OS_DIR/neutron$r/lock"
    authtoken_section neutron "$region"
    ksa_section nova neutron "$region"
    echo "endpoint_type = public"
  } | write_private "$OS_DIR/etc/neutron$r/neutron.conf"
}

# One nova.conf per region for nova-api (uwsgi), nova-conductor, nova-scheduler and
# nova-compute. Three SQLite DBs: the API DB, cell0 (servers that never got scheduled) and
# cell1 (the one cell, holding the compute host).
write_nova_config() { # region number
  local r=$1 region
  region=$(region_name "$r")
  mkdir -p "$OS_DIR/etc/nova$r" "$OS_DIR/nova$r"/{instances,lock}
  cp /usr/share/nova-common/api-paste.ini "$OS_DIR/etc/nova$r/api-paste.ini"
  {
    cat <<EOF
[DEFAULT]
host = $COMPUTE_HOST
my_ip = $H
state_path = $OS_DIR/nova$r
instances_path = $OS_DIR/nova$r/instances
log_file = $OS_DIR/log/nova-api-r$r.log
debug = false
transport_url = $(rabbit_url "nova$r")
compute_driver = fake.FakeDriver
enabled_apis = osapi_compute
# no periodic cache healing (it only calls Neutron again): less noise on a 2-CPU machine
heal_instance_info_cache_interval = -1
graceful_shutdown_timeout = 3
[api]
auth_strategy = keystone
# the page cap of GET /servers (the tests may lower it to exercise servers_links)
max_limit = ${NOVA_API_MAX_LIMIT:-1000}
[quota]
# a test cloud: the contract suite and the tests boot more than the default 10 instances / 20
# cores / 50 GB of RAM between two cleanups
instances = -1
cores = -1
ram = -1
[api_database]
connection = sqlite:///$OS_DIR/nova$r/nova_api.db?timeout=$SQLITE_TIMEOUT
[database]
connection = sqlite:///$OS_DIR/nova$r/nova_cell1.db?timeout=$SQLITE_TIMEOUT
[scheduler]
# hosts are mapped once, by the first start (nova-manage cell_v2 discover_hosts)
discover_hosts_in_cells_interval = -1
[glance]
region_name = $region
valid_interfaces = public
[vnc]
enabled = false
[spice]
enabled = false
[wsgi]
api_paste_config = $OS_DIR/etc/nova$r/api-paste.ini
EOF
    common_sections "$OS_DIR/nova$r/lock"
    authtoken_section nova "$region"
    ksa_section placement nova "$region"
    ksa_section neutron nova "$region"
  } | write_private "$OS_DIR/etc/nova$r/nova.conf"
  write_uwsgi_ini "nova-api-r$r" "$(port NV "$r")" /usr/bin/nova-api-wsgi "OS_NOVA_CONFIG_DIR=$OS_DIR/etc/nova$r" sqlite_immediate
}

write_clouds_yaml() {
  local auth
  auth=$(cat <<EOF
    auth:
      auth_url: $KS_URL/v3
      username: admin
      password: $(jq -n --arg p "$ADMIN_PASSWORD" '$p')
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    identity_api_version: 3
    interface: public
EOF
)
  # "local": everything real. "local-emulated-compute": the same Keystone and Glance, with
  # compute and network of each region overridden (openstacksdk's per-region `values`) to
  # where the tests start the emulator's compute-only server.
  write_private "$OS_DIR/clouds.yaml" <<EOF
clouds:
  local:
$auth
    region_name: RegionOne
  local-emulated-compute:
$auth
    regions:
      - name: RegionOne
        values:
          compute_endpoint_override: http://$H:$C1_PORT/v2.1
          network_endpoint_override: http://$H:$N1_PORT
      - name: RegionTwo
        values:
          compute_endpoint_override: http://$H:$C2_PORT/v2.1
          network_endpoint_override: http://$H:$N2_PORT
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
# Every daemon, in start order (stop goes the other way). Each has $OS_DIR/run/NAME.pid.
DAEMONS=(keystone glance-r1 glance-r2 rabbitmq placement-r1 placement-r2 neutron-r1 neutron-r2
  nova-api-r1 nova-api-r2 nova-conductor-r1 nova-conductor-r2 nova-scheduler-r1 nova-scheduler-r2
  nova-compute-r1 nova-compute-r2)

# alive = exists and is not a zombie: our daemons are re-parented to PID 1, and after a kill
# they sit as zombies for a moment, during which `kill -0` still reports them alive.
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$st" ] && [ "${st#Z}" = "$st" ]; }
pid_alive() { [ -f "$1" ] && alive "$(cat "$1")"; }

# wait_until TIMEOUT_S PIDFILE CHECK...: runs CHECK every 0.2 s until it succeeds; fails fast
# when the daemon of PIDFILE died (checked after 2 s: uwsgi --daemonize2 rewrites its pidfile
# once it has forked)
wait_until() {
  local max=$(( $1 * 5 )) pidfile=$2 i=0
  shift 2
  until "$@"; do
    i=$((i + 1))
    if [ "$i" -ge "$max" ] || { [ "$i" -gt 10 ] && ! pid_alive "$pidfile"; }; then return 1; fi
    sleep 0.2
  done
}

http_ok() { curl -s -o /dev/null -f --max-time 2 "$1"; }
tcp_open() { (exec 3<>"/dev/tcp/$H/$1") 2>/dev/null; }

wait_http() { # url timeout_s name: fails with the daemon's log tail
  wait_until "$2" "$OS_DIR/run/$3.pid" http_ok "$1" || { log "FAILED waiting for $3 at $1"; log_tail "$3"; return 1; }
}

log_tail() { # daemon name: the end of its logs, for a failure message
  local f
  for f in "$OS_DIR/log/$1"*.log "$OS_DIR/log/$1"*.stdout; do
    [ -f "$f" ] || continue
    echo "--- $f" >&2
    tail -n 20 "$f" >&2
  done
}

port_free() { # port variable: fails with a message when something already listens there
  if tcp_open "$1"; then
    log "port $H:$1 is already in use by another process (set $2 to use another port)"
    return 1
  fi
}

# start_daemon NAME CMD...: in its own session, stdio away from the caller (a daemon holding
# the caller's pipes would keep it waiting). The shell writes its own PID and then execs the
# command, so the PID file is right even when setsid has to fork (it does when the caller
# leads its process group).
start_daemon() {
  local name=$1 pidfile="$OS_DIR/run/$1.pid" i
  shift
  pid_alive "$pidfile" && return 0
  # shellcheck disable=SC2016  # $$, $1 are for the inner shell
  setsid bash -c 'echo "$$" > "$1"; shift; exec "$@"' "$name" "$pidfile" "$@" \
    < /dev/null >> "$OS_DIR/log/$name.stdout" 2>&1 &
  for i in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.02; done
}

start_uwsgi() { # name (its ini is $OS_DIR/etc/NAME-uwsgi.ini)
  pid_alive "$OS_DIR/run/$1.pid" && return 0
  uwsgi --ini "$OS_DIR/etc/$1-uwsgi.ini" --daemonize2 "$OS_DIR/log/$1-uwsgi.log" \
    < /dev/null >> "$OS_DIR/log/$1.stdout" 2>&1
}

# RabbitMQ's environment: everything it reads or writes is under $OS_DIR. HOME holds its
# Erlang cookie. ERL_EPMD_PORT gives it an epmd of its own (the Erlang port mapper that the VM
# starts as a daemon; it outlives the VM, so stop_all ends it with `epmd -kill`).
rabbit_env() {
  export HOME="$OS_DIR/rabbitmq" ERL_EPMD_PORT="$EPMD_PORT" ERL_EPMD_ADDRESS="$H"
  export RABBITMQ_NODENAME="imagesync@localhost" RABBITMQ_CONF_ENV_FILE="$OS_DIR/etc/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$OS_DIR/etc/rabbitmq.conf" RABBITMQ_ADVANCED_CONFIG_FILE="$OS_DIR/etc/rabbitmq-advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$OS_DIR/etc/rabbitmq-enabled-plugins"
  export RABBITMQ_MNESIA_BASE="$OS_DIR/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$OS_DIR/log/rabbitmq"
  export RABBITMQ_PLUGINS_EXPAND_DIR="$OS_DIR/rabbitmq/plugins-expand"
}

start_rabbitmq() {
  # A fresh Mnesia on every start: no message of an earlier run is ever delivered again, and
  # the definitions file recreates the user and vhosts (the VM boots in ~3 s either way).
  pid_alive "$OS_DIR/run/rabbitmq.pid" || rm -rf "$OS_DIR/rabbitmq/mnesia" "$OS_DIR/rabbitmq/plugins-expand"
  # rabbitmq-server (the script under /usr/lib: /usr/sbin's wrapper switches to the rabbitmq
  # user) stays as the parent of the Erlang VM and turns SIGTERM into a clean stop.
  # Beware: `rabbitmq-server --help` does not print help, it starts a server.
  (rabbit_env; start_daemon rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server)
}

nova_cmd() { # region name: start nova-conductor / nova-scheduler / nova-compute of region R
  local r=$1 cf="$OS_DIR/etc/nova$1/nova.conf"
  if [ "$2" = nova-compute ]; then
    # nova-compute's package is not installed (see PACKAGES): its console script is this line
    start_daemon "$2-r$r" env PYTHONPATH="$OS_DIR/etc/py" \
      /usr/bin/python3 -c 'import sys; from nova.cmd.compute import main; sys.exit(main())' \
      --config-file "$cf" --log-file "$OS_DIR/log/$2-r$r.log"
  else
    start_daemon "$2-r$r" env PYTHONPATH="$OS_DIR/etc/py" "$2" --config-file "$cf" --log-file "$OS_DIR/log/$2-r$r.log"
  fi
}

# neutron-server with the "test" ML2 mechanism driver's self-checks switched off. That driver
# asserts, in bind_port, that the port is being CREATED with its binding host (context.original
# is None): true in Neutron's unit tests, false for Nova, which creates the port first and sets
# binding:host_id in an update ("Mechanism driver test failed in bind_port: AssertionError",
# then "Binding failed for port", PortBindingFailed, the server in ERROR). Its binding logic
# (host name -> vif_type ovs, port ACTIVE) stays as it is. Imported after neutron.cmd.eventlet,
# which monkey-patches first, as the console script /usr/bin/neutron-server does.
# It also imports every DB model (as the schema was made, see init_schemas) and configures the
# mappers at once: Neutron 21's get_ports names Port.port_forwardings, a backref that only
# exists once the port forwarding model is imported AND mapped, which nothing does without
# that service plugin: every
# GET /v2.0/ports?device_id=... was a 500 ("type object 'Port' has no attribute
# 'port_forwardings'").
start_neutron() { # region number
  start_daemon "neutron-r$1" env PYTHONPATH="$OS_DIR/etc/py" /usr/bin/python3 -c 'import sys
from neutron.cmd.eventlet.server import main
from neutron.db.migration.models import head
from sqlalchemy import orm
orm.configure_mappers()
from neutron.tests.unit.plugins.ml2.drivers import mechanism_test
mechanism_test.TestMechanismDriver._check_port_context = lambda self, context, original_expected: None
sys.exit(main())' --config-file "$OS_DIR/etc/neutron$1/neutron.conf" --log-file "$OS_DIR/log/neutron-server-r$1.log"
}

# Every port this script listens on, with the variable that moves it.
all_ports() {
  cat <<EOF
$KS_PORT KEYSTONE_PORT
$G1_PORT GLANCE1_PORT
$G2_PORT GLANCE2_PORT
$RMQ_PORT RABBIT_PORT
$RMQ_DIST_PORT RABBIT_DIST_PORT
$EPMD_PORT RABBIT_EPMD_PORT
$PL1_PORT PLACEMENT1_PORT
$PL2_PORT PLACEMENT2_PORT
$NT1_PORT NEUTRON1_PORT
$NT2_PORT NEUTRON2_PORT
$NV1_PORT NOVA1_PORT
$NV2_PORT NOVA2_PORT
EOF
}

# Starts every daemon that is not running yet and waits until each one answers. Rabbit first:
# the oslo.messaging clients back off up to 30 s between attempts when it is not there yet.
start_all() {
  local r n p var t0=$SECONDS
  # probe every port before starting anything (a daemon of ours already running keeps its own)
  if ! pid_alive "$OS_DIR/run/keystone.pid"; then
    while read -r p var; do port_free "$p" "$var"; done < <(all_ports)
  fi
  start_rabbitmq
  start_uwsgi keystone
  for r in 1 2; do start_daemon "glance-r$r" glance-api --config-file "$OS_DIR/etc/glance-api-r$r.conf"; done
  for r in 1 2; do start_uwsgi "placement-r$r"; done
  # Nova and Neutron start while RabbitMQ still boots (~5-20 s): their imports take as long, and
  # they retry the broker every second (rabbit_interval_max) until it answers.
  for r in 1 2; do
    start_neutron "$r"
    start_uwsgi "nova-api-r$r"
    for n in nova-conductor nova-scheduler nova-compute; do nova_cmd "$r" "$n"; done
  done
  wait_until 90 "$OS_DIR/run/rabbitmq.pid" tcp_open "$RMQ_PORT" \
    || { log "FAILED waiting for rabbitmq on port $RMQ_PORT"; log_tail rabbitmq; tail -n 20 "$OS_DIR"/log/rabbitmq/*.log >&2; return 1; }
  log "rabbitmq up after $((SECONDS - t0)) s"
  wait_http "$KS_URL/v3" 60 keystone
  for r in 1 2; do
    wait_http "http://$H:$(port G "$r")/healthcheck" 60 "glance-r$r"
    wait_http "http://$H:$(port PL "$r")/" 60 "placement-r$r"
    wait_http "http://$H:$(port NT "$r")/" 90 "neutron-r$r"
    wait_http "http://$H:$(port NV "$r")/" 90 "nova-api-r$r"
  done
  log "keystone, glance, placement, neutron, nova-api answer after $((SECONDS - t0)) s"
  admin_token
  for r in 1 2; do wait_nova_services "$r"; done
  log "nova-conductor, -scheduler, -compute up in both regions after $((SECONDS - t0)) s"
}

# All three Nova services of region R report "up" (the compute host then takes boots).
wait_nova_services() {
  local r=$1 url i=0 up
  url="http://$H:$(port NV "$r")/v2.1/os-services"
  until up=$(curl -sS -f --max-time 10 "$url" -H "X-Auth-Token: $TOKEN" \
      | jq -r '[.services[] | select(.state == "up") | .binary] | sort | join(",")') \
      && [ "$up" = "nova-compute,nova-conductor,nova-scheduler" ]; do
    i=$((i + 1))
    local n
    for n in nova-conductor nova-scheduler nova-compute; do
      pid_alive "$OS_DIR/run/$n-r$r.pid" || { log "$n-r$r died"; log_tail "$n-r$r"; return 1; }
    done
    if [ "$i" -ge 450 ]; then log "FAILED: region $r's nova services are not all up after 90 s (up: ${up:-none})"; log_tail "nova-compute-r$r"; return 1; fi
    sleep 0.2
  done
}

# stop_all: signal every daemon at once, then wait for all (a stop in sequence takes ~1 s each)
stop_all() {
  local n f pid i pids=() groups=()
  for n in "${DAEMONS[@]}"; do
    f="$OS_DIR/run/$n.pid"
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if [ -n "$pid" ] && alive "$pid"; then
      groups+=("$pid")
      # uwsgi's master shuts down cleanly on SIGINT (SIGTERM means "reload" for it)
      if [ -f "$OS_DIR/etc/$n-uwsgi.ini" ]; then kill -INT "$pid"; else kill -TERM "$pid"; fi
      pids+=("$pid")
    fi
  done
  for i in $(seq 150); do
    local left=()
    for pid in "${pids[@]}"; do alive "$pid" && left+=("$pid"); done
    pids=("${left[@]}")
    [ "${#pids[@]}" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  # Each daemon leads its own process group (start_daemon's setsid): what is left in a group once
  # its leader is gone (neutron-server's forked rpc workers outlive their parent) still holds the
  # daemon's port and would fail the next start with "port … already in use".
  for pid in "${groups[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  for n in "${DAEMONS[@]}"; do rm -f "$OS_DIR/run/$n.pid"; done
  # rabbit's epmd outlives the VM; it is ours (our port), and refuses -kill while a node is
  # still registered with it
  ERL_EPMD_PORT="$EPMD_PORT" epmd -kill > /dev/null 2>&1 || true
}

admin_token() {
  local auth
  auth=$(jq -nc --arg p "$ADMIN_PASSWORD" '{auth: {
    identity: {methods: ["password"], password: {user: {name: "admin", domain: {id: "default"}, password: $p}}},
    scope: {project: {name: "admin", domain: {id: "default"}}}}}')
  TOKEN=$(curl -sS -f -D - -o /dev/null "$KS_URL/v3/auth/tokens" -H 'Content-Type: application/json' \
    -d "$auth" | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r')
  [ -n "$TOKEN" ] || die "keystone issued no admin token (see $OS_DIR/log/keystone.log)"
}

# REST helper: api METHOD URL [JSON]; needs $TOKEN
api() {
  curl -sS -f -X "$1" "$2" -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' \
    -H 'Accept: application/json' ${3:+-d "$3"}
}
ks() { api "$1" "$KS_URL/v3$2" "${3:-}"; }

# endpoint SERVICE_ID REGION INTERFACE URL
ep() {
  ks POST /endpoints "$(jq -nc --arg s "$1" --arg r "$2" --arg i "$3" --arg u "$4" \
    '{endpoint: {service_id: $s, region_id: $r, interface: $i, url: $u}}')" > /dev/null
}

sqlite_wal() { local db; for db in "$@"; do sqlite3 "$db" 'PRAGMA journal_mode=WAL;' > /dev/null; done; }

init_keystone() {
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
  # WAL journal mode is REQUIRED: in the default rollback-journal mode keystone deadlocks on
  # itself (POST /v3/services -> 5 s -> "database is locked" -> 500), because a read
  # connection is still open while the write commits. The mode persists in the file.
  sqlite_wal "$OS_DIR/keystone/keystone.db"
}

catalog() {
  local svc_project admin_role ident_svc u id type name r
  ks POST /regions '{"region":{"id":"RegionTwo","description":"second region"}}' > /dev/null
  svc_project=$(ks POST /projects '{"project":{"name":"service","domain_id":"default","description":"service project"}}' | jq -r .project.id)
  admin_role=$(ks GET '/roles?name=admin' | jq -r '.roles[0].id')
  for u in glance nova placement neutron; do
    local pw=$SERVICE_PASSWORD
    [ "$u" = glance ] && pw=$GLANCE_PASSWORD
    id=$(ks POST /users "$(jq -nc --arg n "$u" --arg p "$pw" '{user: {name: $n, domain_id: "default", password: $p}}')" | jq -r .user.id)
    ks PUT "/projects/$svc_project/users/$id/roles/$admin_role" > /dev/null
  done
  ident_svc=$(ks GET '/services?type=identity' | jq -r '.services[0].id')
  # glance's keystonemiddleware in RegionTwo looks for identity in RegionTwo (see above)
  for u in public internal admin; do ep "$ident_svc" RegionTwo "$u" "$KS_URL/v3"; done
  while read -r type name; do
    id=$(ks POST /services "$(jq -nc --arg t "$type" --arg n "$name" '{service: {type: $t, name: $n}}')" | jq -r .service.id)
    for r in 1 2; do
      case $type in
        image) u="http://$H:$(port G "$r")" ;;
        compute) u="http://$H:$(port NV "$r")/v2.1" ;;
        network) u="http://$H:$(port NT "$r")" ;;   # unversioned, as Neutron's are
        placement) u="http://$H:$(port PL "$r")" ;;
      esac
      ep "$id" "$(region_name "$r")" public "$u"
    done
  done <<EOF
image glance
compute nova
network neutron
placement placement
EOF
}

# The DB schemas: one sync per service, copied to region 2 where nothing in the DB names the
# region (placement, neutron). Nova's API DB names its cells' DB paths and RabbitMQ vhost
# (cell_mappings), so region 2 gets a copy with those two columns rewritten: the same result
# as a second run of the four nova-manage commands, ~10 s faster.
init_schemas() {
  log "placement, neutron and nova db syncs"
  placement-manage --config-file "$OS_DIR/etc/placement1/placement.conf" db sync
  cp "$OS_DIR/placement1/placement.db" "$OS_DIR/placement2/placement.db"
  # `neutron-db-manage upgrade heads` cannot run on SQLite: a Mitaka migration alters a
  # constraint ("NotImplementedError: No support for ALTER of constraints in SQLite dialect").
  # Neutron's own unit tests build their SQLite schema from the models instead: the same here,
  # then the alembic heads are stamped, as if the migrations had run.
  NEUTRON_DB="sqlite:///$OS_DIR/neutron1/neutron.db" /usr/bin/python3 -c 'import os, sqlalchemy
from neutron.db.migration.models import head
head.get_metadata().create_all(sqlalchemy.create_engine(os.environ["NEUTRON_DB"]))'
  neutron-db-manage --config-file "$OS_DIR/etc/neutron1/neutron.conf" stamp heads > "$OS_DIR/log/neutron-db-manage.log" 2>&1 \
    || { tail -n 30 "$OS_DIR/log/neutron-db-manage.log" >&2; die "neutron-db-manage stamp heads failed"; }
  cp "$OS_DIR/neutron1/neutron.db" "$OS_DIR/neutron2/neutron.db"
  local ncf=(--config-file "$OS_DIR/etc/nova1/nova.conf")
  nova-manage "${ncf[@]}" api_db sync
  nova-manage "${ncf[@]}" cell_v2 map_cell0 --database_connection "sqlite:///$OS_DIR/nova1/nova_cell0.db?timeout=$SQLITE_TIMEOUT"
  nova-manage "${ncf[@]}" cell_v2 create_cell --name cell1 > /dev/null
  nova-manage "${ncf[@]}" db sync
  cp "$OS_DIR/nova1/"nova_{api,cell0,cell1}.db "$OS_DIR/nova2/"
  sqlite3 "$OS_DIR/nova2/nova_api.db" "UPDATE cell_mappings SET
    database_connection = replace(database_connection, '$OS_DIR/nova1/', '$OS_DIR/nova2/'),
    transport_url = replace(transport_url, '/nova1', '/nova2');"
  local r
  for r in 1 2; do
    sqlite_wal "$OS_DIR/placement$r/placement.db" "$OS_DIR/neutron$r/neutron.db" "$OS_DIR/nova$r/"nova_{api,cell0,cell1}.db
  done
}

# Flavors as Nova's old defaults (m1.tiny .. m1.large, same ids), plus m1.nano with a 0 GB disk
# (the server's disk then is the image's size: the case of min_disk checks).
init_flavors() { # region number
  local url name id ram disk vcpus
  url="http://$H:$(port NV "$1")/v2.1/flavors"
  while read -r id name ram disk vcpus; do
    api POST "$url" "$(jq -nc --arg id "$id" --arg n "$name" --argjson ram "$ram" --argjson disk "$disk" --argjson v "$vcpus" \
      '{flavor: {id: $id, name: $n, ram: $ram, disk: $disk, vcpus: $v}}')" > /dev/null
  done <<EOF
1 m1.tiny 512 1 1
2 m1.small 2048 20 1
3 m1.medium 4096 40 2
4 m1.large 8192 80 4
42 m1.nano 128 0 1
EOF
}

# Networks as a small cloud has them: "private" (the tenant network, type local), "public"
# (external, flat) and a router between them, so floating IPs can be associated with ports on
# "private". Addresses are loopback ones: nothing here ever forwards, and a client that tries
# one (an SSH wait) reaches nothing but this machine.
init_networks() { # region number
  local url priv pub psub router
  url="http://$H:$(port NT "$1")/v2.0"
  priv=$(api POST "$url/networks" '{"network":{"name":"private"}}' | jq -r .network.id)
  psub=$(api POST "$url/subnets" "$(jq -nc --arg n "$priv" '{subnet: {name: "private-subnet", network_id: $n, ip_version: 4, cidr: "127.0.200.0/24", gateway_ip: "127.0.200.1", enable_dhcp: false}}')" | jq -r .subnet.id)
  pub=$(api POST "$url/networks" '{"network":{"name":"public","router:external":true,"provider:network_type":"flat","provider:physical_network":"public"}}' | jq -r .network.id)
  api POST "$url/subnets" "$(jq -nc --arg n "$pub" '{subnet: {name: "public-subnet", network_id: $n, ip_version: 4, cidr: "127.0.201.0/24", gateway_ip: "127.0.201.1", enable_dhcp: false}}')" > /dev/null
  router=$(api POST "$url/routers" "$(jq -nc --arg n "$pub" '{router: {name: "router", external_gateway_info: {network_id: $n}}}')" | jq -r .router.id)
  api PUT "$url/routers/$router/add_router_interface" "$(jq -nc --arg s "$psub" '{subnet_id: $s}')" > /dev/null
}

# Maps the (one) compute host of region R into cell1, once it has registered itself (its
# compute_nodes row: read from the cell DB, as discover_hosts itself does).
discover_hosts() {
  local r=$1 i=0
  until [ "$(sqlite3 "$OS_DIR/nova$r/nova_cell1.db" 'SELECT count(*) FROM compute_nodes WHERE deleted = 0;')" -ge 1 ]; do
    i=$((i + 1)); [ "$i" -lt 300 ] || die "region $r's nova-compute registered no compute node within 60 s"
    sleep 0.2
  done
  nova-manage --config-file "$OS_DIR/etc/nova$r/nova.conf" cell_v2 discover_hosts > /dev/null
}

STATE_DIRS=(keystone glance1 glance2 placement1 placement2 neutron1 neutron2 nova1 nova2)

init_state() {
  log "initialising state in $OS_DIR (first run: 2-5 min)"
  write_configs
  init_keystone
  glance-manage --config-file "$OS_DIR/etc/glance-api-r1.conf" db_sync
  cp "$OS_DIR/glance1/glance.db" "$OS_DIR/glance2/glance.db"   # same schema: saves one db_sync
  sqlite_wal "$OS_DIR/glance1/glance.db" "$OS_DIR/glance2/glance.db"
  init_schemas
  log "start keystone, create the catalog"
  start_uwsgi keystone
  wait_http "$KS_URL/v3" 60 keystone
  admin_token
  catalog
  log "start everything, create flavors, networks; map the compute hosts"
  start_all
  local r
  for r in 1 2; do
    init_flavors "$r"
    init_networks "$r"
    discover_hosts "$r"
  done
  log "pristine snapshot"
  snapshot_pristine
}

# Copies the state to $OS_DIR/pristine while every daemon keeps running (no stop and restart:
# ~1 min less on a first start): each SQLite DB through sqlite3's online backup, which is
# consistent however the daemons write, the rest (keys, image stores) as files.
snapshot_pristine() {
  local d db
  rm -rf "$OS_DIR/pristine"; mkdir -p "$OS_DIR/pristine"
  for d in "${STATE_DIRS[@]}"; do
    cp -a "$OS_DIR/$d" "$OS_DIR/pristine/"
    rm -f "$OS_DIR/pristine/$d/"*.db "$OS_DIR/pristine/$d/"*.db-wal "$OS_DIR/pristine/$d/"*.db-shm
    for db in "$OS_DIR/$d/"*.db; do
      sqlite3 "$db" ".timeout $((SQLITE_TIMEOUT * 1000))" ".backup '$OS_DIR/pristine/$d/${db##*/}'"
      sqlite_wal "$OS_DIR/pristine/$d/${db##*/}"
    done
  done
}

# Endpoints and passwords are baked into the SQLite DBs, so the state is rebuilt when any of
# them changes. Only a hash is kept, so the file holds no password.
state_signature() {
  printf '%s ' "$STATE_VERSION" "$H" "$KS_PORT" "$G1_PORT" "$G2_PORT" "$NV1_PORT" "$NV2_PORT" \
    "$NT1_PORT" "$NT2_PORT" "$PL1_PORT" "$PL2_PORT" "$RMQ_PORT" "$OS_DIR" \
    "$ADMIN_PASSWORD" "$GLANCE_PASSWORD" "$SERVICE_PASSWORD" "$RABBIT_PASSWORD" "$TOKEN_EXPIRATION" \
    | sha256sum | cut -d' ' -f1
}

do_start() {
  do_install
  # A start that fails half-way stops what it started: no stray daemons hold the ports.
  trap 'rc=$?; if [ "$rc" != 0 ]; then log "start failed; stopping what it started"; stop_all; fi' EXIT
  local sig d
  sig=$(state_signature)
  mkdir -p "$OS_DIR"/{etc,log,run}
  # keep the previous run's logs as *.1 (for debugging), so logs do not grow without end
  if ! pid_alive "$OS_DIR/run/keystone.pid"; then
    for d in "$OS_DIR"/log/*.log "$OS_DIR"/log/*.stdout; do [ -f "$d" ] && mv -f "$d" "$d.1"; done
  fi
  if [ ! -f "$OS_DIR/.initialised" ] || [ "$(cat "$OS_DIR/.initialised")" != "$sig" ]; then
    stop_all
    rm -rf "${STATE_DIRS[@]/#/$OS_DIR/}" "$OS_DIR/pristine" "$OS_DIR/.initialised"
    init_state
    echo "$sig" > "$OS_DIR/.initialised"
  else
    write_configs
    if [ "${OS_KEEP_STATE:-0}" != 1 ]; then
      # every start begins from the pristine cloud, even after a run that never stopped
      stop_all
      rm -rf "${STATE_DIRS[@]/#/$OS_DIR/}"
      cp -a "${STATE_DIRS[@]/#/$OS_DIR/pristine/}" "$OS_DIR/"
    fi
  fi
  write_clouds_yaml
  start_all
  log "up: keystone $KS_URL/v3; RegionOne: glance :$G1_PORT nova :$NV1_PORT neutron :$NT1_PORT placement :$PL1_PORT; RegionTwo: glance :$G2_PORT nova :$NV2_PORT neutron :$NT2_PORT placement :$PL2_PORT"
  log "credentials: OS_CLIENT_CONFIG_FILE=$OS_DIR/clouds.yaml OS_CLOUD=local  (or: source $OS_DIR/openrc)"
  trap - EXIT
}

do_status() {
  local n
  for n in "${DAEMONS[@]}"; do
    if pid_alive "$OS_DIR/run/$n.pid"; then echo "$n running pid $(cat "$OS_DIR/run/$n.pid")"; else echo "$n stopped"; fi
  done
  echo "keystone $KS_URL/v3"
  echo "RegionOne: glance http://$H:$G1_PORT  nova http://$H:$NV1_PORT/v2.1  neutron http://$H:$NT1_PORT  placement http://$H:$PL1_PORT"
  echo "RegionTwo: glance http://$H:$G2_PORT  nova http://$H:$NV2_PORT/v2.1  neutron http://$H:$NT2_PORT  placement http://$H:$PL2_PORT"
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
NOVA_REGIONONE_URL http://$H:$NV1_PORT/v2.1
NOVA_REGIONTWO_URL http://$H:$NV2_PORT/v2.1
NEUTRON_REGIONONE_URL http://$H:$NT1_PORT
NEUTRON_REGIONTWO_URL http://$H:$NT2_PORT
COMPUTE_REGIONONE_URL http://$H:$C1_PORT/v2.1
COMPUTE_REGIONTWO_URL http://$H:$C2_PORT/v2.1
NETWORK_REGIONONE_URL http://$H:$N1_PORT
NETWORK_REGIONTWO_URL http://$H:$N2_PORT
OS_CLIENT_CONFIG_FILE $OS_DIR/clouds.yaml
OS_CLOUD local
OS_CLOUD_EMULATED_COMPUTE local-emulated-compute
EOF
}

case "${1:-start}" in
  install) do_install ;;
  start) do_start ;;
  stop) stop_all ;;
  status) do_status ;;
  env) do_env ;;
  reset) stop_all; rm -rf "$OS_DIR" ;;
  *) echo "usage: $0 [install|start|stop|status|env|reset]" >&2; exit 2 ;;
esac
