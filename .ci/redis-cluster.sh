#!/usr/bin/env bash
# Starts or stops a throwaway 3-master Redis Cluster on 127.0.0.1:7001-7003
# (no replicas, no persistence) for the redisstore tests.
#
#   .ci/redis-cluster.sh start   # idempotent; prints the URL on stdout
#   .ci/redis-cluster.sh stop
#
#   export WXAUTH_TEST_REDIS_CLUSTER_URL="$(.ci/redis-cluster.sh start)"
#
# Progress goes to stderr, so stdout is only the URL. The nodes keep their
# cluster config and logs in $WXAUTH_REDIS_CLUSTER_DIR (default
# ${TMPDIR:-/tmp}/wxauth-redis-cluster), wiped on every fresh start.
set -euo pipefail

PORTS=(7001 7002 7003)
HOST=127.0.0.1
DIR="${WXAUTH_REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/wxauth-redis-cluster}"
URL="redis+cluster://$HOST:${PORTS[0]},$HOST:${PORTS[1]},$HOST:${PORTS[2]}"

log() { printf 'redis-cluster: %s\n' "$*" >&2; }
cli() { local port=$1; shift; redis-cli -h "$HOST" -p "$port" "$@" 2>/dev/null; }
up() { [ "$(cli "$1" ping)" = "PONG" ]; }
# info_field PORT FIELD COMMAND...: FIELD's value in the reply to COMMAND.
info_field() {
  local port=$1 field=$2
  shift 2
  cli "$port" "$@" | tr -d '\r' | sed -n "s/^$field://p"
}
is_cluster_node() { [ "$(info_field "$1" cluster_enabled info cluster)" = "1" ]; }
cluster_ok() {
  local p
  for p in "${PORTS[@]}"; do
    [ "$(info_field "$p" cluster_state cluster info)" = "ok" ] || return 1
  done
}

# stop_nodes shuts down our cluster nodes (and nothing else that might
# listen on those ports).
stop_nodes() {
  local p
  for p in "${PORTS[@]}"; do
    if up "$p"; then
      if ! is_cluster_node "$p"; then
        log "127.0.0.1:$p is a Redis that is not a cluster node; not touching it"
        return 1
      fi
      cli "$p" shutdown nosave >/dev/null || true
    fi
  done
  for p in "${PORTS[@]}"; do
    for _ in $(seq 1 50); do up "$p" || break; sleep 0.1; done
    if up "$p"; then log "127.0.0.1:$p did not shut down"; return 1; fi
  done
}

wait_ok() {
  for _ in $(seq 1 100); do cluster_ok && return 0; sleep 0.2; done
  log "cluster_state is not ok after 20s"
  for p in "${PORTS[@]}"; do cli "$p" cluster info | head -3 >&2 || true; done
  return 1
}

start() {
  command -v redis-server >/dev/null || { log "redis-server is not installed"; return 1; }
  local p running=0
  for p in "${PORTS[@]}"; do
    if up "$p"; then
      is_cluster_node "$p" || { log "127.0.0.1:$p already runs a Redis that is not a cluster node"; return 1; }
      running=$((running + 1))
    fi
  done

  if [ "$running" = "${#PORTS[@]}" ] && [ "$(info_field "${PORTS[0]}" cluster_slots_assigned cluster info)" = "16384" ] \
      && [ "$(info_field "${PORTS[0]}" cluster_known_nodes cluster info)" = "${#PORTS[@]}" ]; then
    log "already running"
    wait_ok
    echo "$URL"
    return 0
  fi
  if [ "$running" != 0 ]; then
    log "found a partial cluster; starting over"
    stop_nodes
  fi

  rm -rf "$DIR"
  mkdir -p "$DIR"
  for p in "${PORTS[@]}"; do
    redis-server --port "$p" --bind "$HOST" --daemonize yes \
      --cluster-enabled yes --cluster-config-file "nodes-$p.conf" --cluster-node-timeout 5000 \
      --save "" --appendonly no --dir "$DIR" \
      --pidfile "$DIR/redis-$p.pid" --logfile "$DIR/redis-$p.log" >&2
  done
  for p in "${PORTS[@]}"; do
    for _ in $(seq 1 50); do up "$p" && break; sleep 0.1; done
    up "$p" || { log "127.0.0.1:$p did not start; see $DIR/redis-$p.log"; return 1; }
  done

  local addrs=()
  for p in "${PORTS[@]}"; do addrs+=("$HOST:$p"); done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >&2
  wait_ok
  log "up: ${addrs[*]}"
  echo "$URL"
}

case "${1:-}" in
  start) start ;;
  stop) stop_nodes && rm -rf "$DIR" && log "stopped" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
