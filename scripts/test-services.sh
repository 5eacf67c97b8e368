#!/usr/bin/env bash
# Starts a private MariaDB and Redis for the test suite, on loopback ports of their own, with data in DIR.
#
#   scripts/test-services.sh install     installs the Debian packages if missing (the fault campaign needs them)
#   scripts/test-services.sh start DIR   installs the Debian packages if missing, starts both, writes DIR/env
#   scripts/test-services.sh stop DIR    stops both
#
# DIR/env exports TICKETING_TEST_MYSQL_URL (a user that may create databases) and TICKETING_TEST_REDIS_URL.
# Nothing here touches a system-wide MariaDB or Redis.
set -euo pipefail

die() { echo "test-services: $*" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what did not come up in time"
    sleep 0.2
  done
}

install_packages() {
  if command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null && command -v redis-server >/dev/null; then
    return
  fi
  echo "test-services: installing mariadb-server and redis-server from Debian packages"
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server redis-server >/dev/null \
    || die "apt-get install mariadb-server redis-server failed"
  command -v mariadbd >/dev/null || die "mariadbd is missing after installing mariadb-server"
}

start() {
  local dir=$1
  install_packages
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local mysql_port redis_port
  mysql_port=$(free_port)
  redis_port=$(free_port)

  echo "test-services: MariaDB $(mariadbd --version | awk '{print $3}') on 127.0.0.1:$mysql_port"
  rm -rf "$dir/mysql"
  mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$dir/mysql" \
    --auth-root-authentication-method=socket --skip-test-db >"$dir/mysql-install.log" 2>&1 \
    || { cat "$dir/mysql-install.log" >&2; die "mariadb-install-db failed"; }
  mariadbd --no-defaults --user="$(id -un)" --datadir="$dir/mysql" --socket="$dir/mysql.sock" \
    --pid-file="$dir/mysql.pid" --port="$mysql_port" --bind-address=127.0.0.1 --skip-log-bin \
    --innodb-buffer-pool-size=256M --innodb-log-file-size=256M --max-connections=1000 \
    --log-error="$dir/mysql.err" >/dev/null 2>&1 &
  echo $! >"$dir/mysql.launcher.pid"
  wait_for 60 "MariaDB" mariadb-admin --no-defaults --socket="$dir/mysql.sock" -uroot ping
  mariadb --no-defaults --socket="$dir/mysql.sock" -uroot <<SQL
CREATE USER IF NOT EXISTS 'ticketing'@'127.0.0.1' IDENTIFIED BY 'ticketing-test';
GRANT ALL PRIVILEGES ON *.* TO 'ticketing'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL

  echo "test-services: Redis $(redis-server --version | awk '{print $3}') on 127.0.0.1:$redis_port"
  mkdir -p "$dir/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir/redis" --save '' --appendonly no \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --daemonize yes
  wait_for 30 "Redis" redis-cli -p "$redis_port" ping

  cat >"$dir/env" <<ENV
export TICKETING_TEST_MYSQL_URL=mysql://ticketing:ticketing-test@127.0.0.1:$mysql_port
export TICKETING_TEST_MYSQL_SOCKET=$dir/mysql.sock
export TICKETING_TEST_REDIS_URL=redis://127.0.0.1:$redis_port
ENV
  echo "test-services: ready ($dir/env)"
}

stop() {
  local dir=$1
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  [ -f "$dir/mysql.pid" ] && kill "$(cat "$dir/mysql.pid")" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while [ -f "$dir/mysql.pid" ] && kill -0 "$(cat "$dir/mysql.pid")" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.2
  done
  rm -f "$dir/env"
}

case "${1:-}" in
  install) install_packages ;;
  start) start "${2:?usage: $0 start DIR}" ;;
  stop) stop "${2:?usage: $0 stop DIR}" ;;
  *) die "usage: $0 install | start DIR | stop DIR" ;;
esac
