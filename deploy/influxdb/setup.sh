#!/usr/bin/env bash
# Prepare an InfluxDB 2.x for lineside: buckets, the DBRP mappings that let Grafana (and
# `lineside report`) query them with InfluxQL, and optionally least-privilege tokens.
# Idempotent: run it again and it only adds what is missing.
#
# Two ways to run it:
#  - as an init script of the official influxdb:2 image (compose.yaml mounts it into
#    /docker-entrypoint-initdb.d): it reads DOCKER_INFLUXDB_INIT_{ORG,BUCKET,ADMIN_TOKEN};
#  - by hand against any InfluxDB 2 with the `influx` CLI:
#      INFLUX_HOST=http://influx:8086 INFLUX_TOKEN=<operator token> INFLUX_ORG=plant \
#        CREATE_TOKENS=1 deploy/influxdb/setup.sh
#
# Environment (defaults in brackets):
#   INFLUX_HOST [http://localhost:8086, or the CLI config during image init]
#   INFLUX_TOKEN  INFLUX_ORG
#   LINESIDE_BUCKET [lineside]         plant data (oee, oee_shift, machine_state, signal)
#   LINESIDE_DB [= LINESIDE_BUCKET]    InfluxQL database name mapped to it (rp autogen)
#   LINESIDE_RETENTION [0 = forever]   e.g. 400d
#   BUREAU_BUCKET [none]               also create this bucket (+ DBRP) for the bureau
#   CREATE_TOKENS [0]                  1: create a write-only token for the agent and a
#                                      read-only token for Grafana, and print them
set -euo pipefail

# As an init script of the influxdb image the CLI's active config already points at the
# set-up server (a temporary port during init): keep it. By hand, default to localhost.
if [ -z "${INFLUX_HOST:-}" ] && [ -z "${DOCKER_INFLUXDB_INIT_MODE:-}" ]; then
  export INFLUX_HOST=http://localhost:8086
fi
export INFLUX_TOKEN="${INFLUX_TOKEN:-${DOCKER_INFLUXDB_INIT_ADMIN_TOKEN:-}}"
export INFLUX_ORG="${INFLUX_ORG:-${DOCKER_INFLUXDB_INIT_ORG:-}}"
BUCKET="${LINESIDE_BUCKET:-${DOCKER_INFLUXDB_INIT_BUCKET:-lineside}}"
DB="${LINESIDE_DB:-$BUCKET}"
RETENTION="${LINESIDE_RETENTION:-0}"
BUREAU_BUCKET="${BUREAU_BUCKET:-}"
CREATE_TOKENS="${CREATE_TOKENS:-0}"

log() { printf 'lineside-setup: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

command -v influx >/dev/null 2>&1 || die "the influx CLI (v2) is required"
[ -n "$INFLUX_TOKEN" ] || die "INFLUX_TOKEN is not set (an operator or all-access token)"
[ -n "$INFLUX_ORG" ] || die "INFLUX_ORG is not set"

# ID of a bucket by name, empty when absent.
bucket_id() {
  # `bucket list --name` fails when there is none: that is an answer, not an error.
  { influx bucket list --name "$1" --hide-headers 2>/dev/null || true; } \
    | awk 'NR == 1 {print $1}'
}

ensure_bucket() {
  local name="$1" id
  id="$(bucket_id "$name")"
  if [ -z "$id" ]; then
    log "creating bucket $name (retention $RETENTION)"
    influx bucket create --name "$name" --retention "$RETENTION" >/dev/null
    id="$(bucket_id "$name")"
  fi
  [ -n "$id" ] || die "bucket $name could not be created"
  printf '%s\n' "$id"
}

# InfluxQL sees bucket <id> as database <db>, retention policy autogen.
ensure_dbrp() {
  local db="$1" id="$2"
  if influx v1 dbrp list --db "$db" --hide-headers 2>/dev/null | grep -q "$id"; then
    log "DBRP $db/autogen -> $id exists"
  else
    log "mapping InfluxQL database $db/autogen to bucket $id"
    influx v1 dbrp create --db "$db" --rp autogen --bucket-id "$id" --default >/dev/null
  fi
}

# The "token" member of the CLI's JSON answer (no jq in the influxdb image).
json_token() {
  tr -d '\n' | sed -n 's/.*"token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p'
}

plant_id="$(ensure_bucket "$BUCKET")"
ensure_dbrp "$DB" "$plant_id"

if [ -n "$BUREAU_BUCKET" ]; then
  bureau_id="$(ensure_bucket "$BUREAU_BUCKET")"
  ensure_dbrp "$BUREAU_BUCKET" "$bureau_id"
fi

if [ "$CREATE_TOKENS" = 1 ]; then
  # Printed once: InfluxDB never shows a token again. Put the agent's into
  # /etc/lineside/lineside.env (INFLUX_TOKEN=...) and Grafana's into its datasource.
  log "creating tokens"
  agent="$(influx auth create --write-bucket "$plant_id" \
            --description "lineside agent (write $BUCKET)" --json | json_token)"
  grafana="$(influx auth create --read-bucket "$plant_id" \
              --description "Grafana (read $BUCKET)" --json | json_token)"
  printf 'LINESIDE_AGENT_TOKEN=%s\nGRAFANA_READ_TOKEN=%s\n' "$agent" "$grafana"
fi
log "done: bucket $BUCKET is InfluxQL database $DB"
