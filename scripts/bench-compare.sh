#!/usr/bin/env bash
# bench-compare.sh: compares the performance of the current tree with a base
# revision, side by side in one run (docs/benchmarks.md, "Comparing two
# revisions").
#
#   scripts/bench-compare.sh [options] BASE_REV
#
# It builds BASE_REV (in a temporary git worktree) and the current tree
# (uncommitted changes included), then runs interleaved rounds, alternating
# which build goes first, of:
#
#   - go benchmarks: ./internal/token (all), ./bearer (the raw Ed25519 check and the
#     cold and repeat checks), ./internal/server (bench_test.go: HTTP bare,
#     /v1/me, refresh, login);
#   - cmd/wxauth-bench against production stores (PostgreSQL + Redis):
#     refresh, returning-user login and introspection, then refresh and
#     login again with -rate-limits.
#
# and prints, per figure, the median of each build and the ratio new/base,
# plus ratios to the baselines measured in the same round (the raw Ed25519
# check and sign, the bare HTTP handler). Machines are noisy: read the
# ratios, and the paired x-raw figures (ColdOverRaw, VerifyOverRaw) first.
#
# Options:
#   -rounds N       rounds (default 5; each runs both builds once)
#   -benchtime D    go test -benchtime per benchmark (default 0.5s)
#   -duration D     wxauth-bench time per scenario (default 3s)
#   -no-load        skip cmd/wxauth-bench (no PostgreSQL or Redis needed)
#   -keep DIR       keep the raw outputs in DIR
#
# Environment: WXAUTH_TEST_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and
# WXAUTH_TEST_REDIS_URL's host (default redis://127.0.0.1:6379/15). Each
# build gets its own PostgreSQL schema (wxauth_bench_base, wxauth_bench_new,
# dropped afterwards) and its own Redis database (BENCH_REDIS_DB_BASE,
# default 12, and BENCH_REDIS_DB_NEW, default 13; flushed before and after).
#
# A default run takes about 7 minutes on 2 cores (2 rounds: 142 s plus the builds).
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }

rounds=5 benchtime=0.5s duration=3s load=1 keep=
while [ $# -gt 0 ]; do
  case "$1" in
    -rounds) rounds=$2; shift 2 ;;
    -benchtime) benchtime=$2; shift 2 ;;
    -duration) duration=$2; shift 2 ;;
    -no-load) load=; shift ;;
    -keep) keep=$2; shift 2 ;;
    -h|-help|--help) usage ;;
    -*) echo "bench-compare: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || usage
base_rev=$1
case "$rounds" in ''|*[!0-9]*|0) echo "bench-compare: -rounds wants a positive number, not '$rounds'" >&2; exit 2 ;; esac

export PATH="$PATH:/usr/local/go/bin"
root=$(git rev-parse --show-toplevel)
cd "$root"
base_sha=$(git rev-parse --verify --quiet "$base_rev^{commit}") \
  || { echo "bench-compare: $base_rev is not a revision of this repository" >&2; exit 2; }

pg_url=${WXAUTH_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
redis_url=${WXAUTH_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
redis_hostport=${redis_url#redis://}
redis_hostport=${redis_hostport%%/*}
redis_host=${redis_hostport%:*} redis_port=${redis_hostport##*:}
[ "$redis_port" != "$redis_host" ] || redis_port=6379
db_base=${BENCH_REDIS_DB_BASE:-12} db_new=${BENCH_REDIS_DB_NEW:-13}
with_param() { case "$1" in *\?*) echo "$1&$2" ;; *) echo "$1?$2" ;; esac; }

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" # no NOTICEs from DROP … IF EXISTS
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-compare.XXXXXX")
out=${keep:-$work/out}
mkdir -p "$out"
cleanup() {
  git -C "$root" worktree remove --force "$work/base-tree" >/dev/null 2>&1 || true
  if [ -n "$load" ]; then
    psql "$pg_url" -qtAc 'DROP SCHEMA IF EXISTS wxauth_bench_base CASCADE; DROP SCHEMA IF EXISTS wxauth_bench_new CASCADE' >/dev/null 2>&1 || true
    for db in "$db_base" "$db_new"; do redis-cli -h "$redis_host" -p "$redis_port" -n "$db" flushdb >/dev/null 2>&1 || true; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
log() { printf '=== %s\n' "$*" >&2; }

# --- build both ---------------------------------------------------------
log "base: $base_rev ($base_sha) in a temporary worktree; new: the current tree"
git worktree add --detach --quiet "$work/base-tree" "$base_sha"
pkgs="token bearer internal/server"
# pkgdir TREE PKG: where PKG lives in TREE (token moved under internal/).
pkgdir() {
  if [ ! -d "$1/$2" ] && [ -d "$1/internal/$2" ]; then echo "internal/$2"; else echo "$2"; fi
}
build() { # build NAME TREE
  local name=$1 tree=$2 p
  mkdir -p "$work/$name"
  for p in $pkgs; do
    (cd "$tree" && go test -c -o "$work/$name/${p//\//_}.test" "./$(pkgdir "$tree" "$p")") \
      || { echo "bench-compare: $name: ./$p does not build" >&2; exit 1; }
  done
  if [ -n "$load" ]; then
    (cd "$tree" && go build -o "$work/$name/wxauth-bench" ./cmd/wxauth-bench) \
      || { echo "bench-compare: $name: cmd/wxauth-bench does not build" >&2; exit 1; }
  fi
}
log "building"
build base "$work/base-tree"
build new "$root"

if [ -n "$load" ]; then
  psql "$pg_url" -qtAc 'DROP SCHEMA IF EXISTS wxauth_bench_base CASCADE; DROP SCHEMA IF EXISTS wxauth_bench_new CASCADE;
    CREATE SCHEMA wxauth_bench_base; CREATE SCHEMA wxauth_bench_new' >/dev/null \
    || { echo "bench-compare: cannot reach PostgreSQL at $pg_url (or use -no-load)" >&2; exit 1; }
  for db in "$db_base" "$db_new"; do
    [ "$(redis-cli -h "$redis_host" -p "$redis_port" -n "$db" flushdb 2>/dev/null)" = OK ] \
      || { echo "bench-compare: cannot reach Redis at $redis_host:$redis_port (or use -no-load)" >&2; exit 1; }
  done
fi

# --- run ------------------------------------------------------------------
# Each run appends records "round TAB build TAB figure TAB unit TAB value"
# to $out/records.tsv.
records=$out/records.tsv
: >"$records"

# gobench ROUND BUILD TREE PKG BENCH: one package's benchmarks.
gobench() {
  local round=$1 name=$2 tree=$3 pkg=$4 bench=$5 raw
  raw=$out/r$round-$name-${pkg//\//_}.txt
  (cd "$tree/$(pkgdir "$tree" "$pkg")" && "$work/$name/${pkg//\//_}.test" -test.run '^$' -test.bench "$bench" \
    -test.benchmem -test.benchtime "$benchtime") >"$raw" 2>&1 \
    || { echo "bench-compare: $name ./$pkg benchmarks failed (see below)" >&2; tail -20 "$raw" >&2; exit 1; }
  # BenchmarkName-2  N  V unit  V unit ...
  awk -v r="$round" -v b="$name" -v p="${pkg#internal/}" 'BEGIN { OFS = "\t" }
    $1 ~ /^Benchmark/ {
      n = $1; sub(/^Benchmark/, "", n); sub(/-[0-9]+$/, "", n)
      for (i = 3; i < NF; i += 2) if ($(i+1) != "B/op") print r, b, p "/" n, $(i+1), $i
    }' "$raw" >>"$records"
}

# loadbench ROUND BUILD LABEL ARGS...: one cmd/wxauth-bench run.
loadbench() {
  local round=$1 name=$2 label=$3 raw db schema
  shift 3
  raw=$out/r$round-$name-$label.txt
  if [ "$name" = base ]; then db=$db_base schema=wxauth_bench_base; else db=$db_new schema=wxauth_bench_new; fi
  "$work/$name/wxauth-bench" -stores production -duration "$duration" \
    -postgres "$(with_param "$pg_url" "search_path=$schema")" \
    -redis "redis://$redis_host:$redis_port/$db" "$@" >"$raw" 2>&1 \
    || { echo "bench-compare: $name wxauth-bench $label failed (see below)" >&2; tail -20 "$raw" >&2; exit 1; }
  # scenario  req/s  p50  p99  vs-bare  errors  cpu
  awk -v r="$round" -v b="$name" -v l="$label" 'BEGIN { OFS = "\t" }
    function ms(d) {
      if (d ~ /µs$/) return substr(d, 1, length(d) - 2) / 1000
      if (d ~ /ms$/) return substr(d, 1, length(d) - 2) + 0
      if (d ~ /s$/) return substr(d, 1, length(d) - 1) * 1000
      return d
    }
    NF == 7 && $2 ~ /^[0-9.]+$/ {
      f = l "/" $1
      print r, b, f, "req/s", $2
      print r, b, f, "p99-ms", ms($4)
      if ($1 != "bare") { v = $5; sub(/x$/, "", v); print r, b, f, "vs-bare", v }
      if ($6 > 0) printf "bench-compare: warning: %s %s: %d errors\n", b, f, $6 > "/dev/stderr"
    }' "$raw" >>"$records"
}

one() { # one ROUND BUILD
  local round=$1 name=$2 tree
  if [ "$name" = base ]; then tree=$work/base-tree; else tree=$root; fi
  gobench "$round" "$name" "$tree" token .
  gobench "$round" "$name" "$tree" bearer '^Benchmark(Ed25519Verify|VerifyCold|ColdOverRaw|VerifyRepeat)$'
  gobench "$round" "$name" "$tree" internal/server .
  if [ -n "$load" ]; then
    loadbench "$round" "$name" load -only refresh,login,introspect
    loadbench "$round" "$name" load+limits -rate-limits -only refresh,login
  fi
}

start=$(date +%s)
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then order="base new"; else order="new base"; fi
  for name in $order; do
    log "round $round/$rounds: $name ($(( $(date +%s) - start ))s so far)"
    one "$round" "$name"
  done
done

# --- report ---------------------------------------------------------------
# Ratios to the baselines of the same round and build.
awk -F'\t' 'BEGIN {
    OFS = "\t"
    n = split("token/Verify:token/Ed25519Verify token/Authenticate:token/Ed25519Verify " \
      "token/Refresh:token/Ed25519Sign token/Open:token/Ed25519Sign " \
      "bearer/VerifyCold:bearer/Ed25519Verify bearer/VerifyRepeat:bearer/Ed25519Verify " \
      "server/HTTPMe:server/HTTPBare server/HTTPRefresh:server/HTTPBare server/HTTPLogin:server/HTTPBare", pairs, " ")
  }
  $4 == "ns/op" { ns[$1 SUBSEP $2 SUBSEP $3] = $5; keys[++k] = $1 SUBSEP $2 SUBSEP $3 }
  END {
    for (j = 1; j <= k; j++) {
      split(keys[j], a, SUBSEP)
      for (i = 1; i <= n; i++) {
        split(pairs[i], q, ":")
        d = a[1] SUBSEP a[2] SUBSEP q[2]
        if (a[3] == q[1] && (d in ns) && ns[d] > 0) print a[1], a[2], q[1] " ÷ " substr(q[2], index(q[2], "/") + 1), "ratio", ns[keys[j]] / ns[d]
      }
    }
  }' "$records" >"$work/derived.tsv"
cat "$records" "$work/derived.tsv" >"$work/all.tsv"

# Medians per figure, unit and build.
sort -t "$(printf '\t')" -k3,3 -k4,4 -k2,2 -k5,5g "$work/all.tsv" | awk -F'\t' '
  function flush() {
    if (cnt == 0) return
    m = (cnt % 2) ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
    printf "%s\t%s\t%s\t%s\t%d\n", pf, pu, pb, m, cnt
    cnt = 0
  }
  { if ($3 != pf || $4 != pu || $2 != pb) { flush(); pf = $3; pu = $4; pb = $2 } v[++cnt] = $5 }
  END { flush() }' >"$work/medians.tsv"

# Figures in the order they were first measured.
awk -F'\t' '!seen[$3 FS $4]++ { print $3 "\t" $4 }' "$work/all.tsv" >"$work/order.tsv"

printf '\nbench-compare: base %s (%s) vs new (the current tree, %s%s)\n' "$base_rev" "${base_sha:0:12}" \
  "$(git rev-parse --short HEAD)" "$(git diff --quiet HEAD 2>/dev/null || echo ', with uncommitted changes')"
printf '%d rounds, interleaved; go -benchtime %s; wxauth-bench -duration %s, production stores; GOMAXPROCS=%s, %s CPUs\n' \
  "$rounds" "$benchtime" "$duration" "${GOMAXPROCS:-default}" "$(nproc 2>/dev/null || echo '?')"
printf 'medians of the rounds; new/base < 1 is faster for ns/op, p99-ms, x-raw and ratio, slower for req/s and vs-bare\n\n'
awk -F'\t' '
  FNR == NR { med[$1 FS $2 FS $3] = $4; next }
  {
    b = med[$1 FS $2 FS "base"]; nw = med[$1 FS $2 FS "new"]
    if ($2 == "allocs/op" && b + 0 == 0 && nw + 0 == 0) next
    r = (b != "" && nw != "" && b + 0 != 0) ? sprintf("%.3f", nw / b) : "—"
    printf "%-40s %-10s %12s %12s %9s\n", $1, $2, fmt(b), fmt(nw), r
  }
  function fmt(x) {
    if (x == "") return "—"
    if (x + 0 >= 1000) return sprintf("%.0f", x)
    if (x + 0 >= 10) return sprintf("%.1f", x)
    return sprintf("%.3f", x)
  }
  BEGIN { printf "%-40s %-10s %12s %12s %9s\n", "figure", "unit", "base", "new", "new/base" }
' "$work/medians.tsv" "$work/order.tsv"
printf '\n(%ds in all%s)\n' "$(( $(date +%s) - start ))" "${keep:+; raw outputs in $keep}"
