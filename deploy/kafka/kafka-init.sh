#!/bin/sh
# Applies the cluster plan of deploy/kafka (generated from the code by `make contracts`), idempotently:
#   topics.txt  every topic with its partitions and retention (events forever, DLQs 30 days)
#   acls.txt    per service: write its own topics, read those it consumes, its consumer group; the outside
#               subscriber (gov-subscriber): read the public topics only, never pilot.internal.*
# and, with KAFKA_CREATE_USERS=1, a SCRAM-SHA-512 credential per user named in acls.txt, its password from
# KAFKA_PASSWORD_<USER> (upper case, '-' as '_': KAFKA_PASSWORD_ZHONGSHI_INTAKE).
# Runs in the apache/kafka image: docker-compose.yml's kafka-init and the Kubernetes Job zhongshi-kafka-init.
#
#   KAFKA_BOOTSTRAP            where to connect (an admin listener or an admin principal's listener)
#   KAFKA_COMMAND_CONFIG       optional client properties file (security.protocol, sasl.jaas.config, ...)
#   KAFKA_REPLICATION_FACTOR   of new topics (default 1; 3 in production)
#   KAFKA_APPLY_ACLS           0 for a development broker without an authorizer (default 1)
#   ZHONGSHI_KAFKA_PLAN        the folder holding topics.txt and acls.txt (default: this script's)
set -euf  # -f: a topic or group named '*' (every one) is not a file pattern

BIN=${KAFKA_BIN:-/opt/kafka/bin}
PLAN=${ZHONGSHI_KAFKA_PLAN:-$(dirname "$0")}
RF=${KAFKA_REPLICATION_FACTOR:-1}
set -- --bootstrap-server "$KAFKA_BOOTSTRAP"
[ -n "${KAFKA_COMMAND_CONFIG:-}" ] && set -- "$@" --command-config "$KAFKA_COMMAND_CONFIG"

rows() { grep -v '^#' "$1" | grep -v '^[[:space:]]*$'; }

existing=$("$BIN/kafka-topics.sh" "$@" --list)
count=0
rows "$PLAN/topics.txt" | while read -r topic partitions retention; do
  if printf '%s\n' "$existing" | grep -qxF "$topic"; then
    "$BIN/kafka-configs.sh" "$@" --alter --entity-type topics --entity-name "$topic" \
      --add-config "retention.ms=$retention,cleanup.policy=delete" >/dev/null
    echo "exists   $topic (retention.ms=$retention)"
  else
    "$BIN/kafka-topics.sh" "$@" --create --if-not-exists --topic "$topic" --partitions "$partitions" \
      --replication-factor "$RF" --config "retention.ms=$retention" --config cleanup.policy=delete
    echo "created  $topic ($partitions partitions, retention.ms=$retention)"
  fi
done

final=$("$BIN/kafka-topics.sh" "$@" --list)
for topic in $(rows "$PLAN/topics.txt" | cut -d' ' -f1); do
  printf '%s\n' "$final" | grep -qxF "$topic" || { echo "missing topic $topic" >&2; exit 1; }
  count=$((count + 1))
done
echo "kafka-init: all $count topics present"

if [ "${KAFKA_CREATE_USERS:-0}" = 1 ]; then
  for user in $(rows "$PLAN/acls.txt" | cut -d' ' -f1 | sort -u); do
    var="KAFKA_PASSWORD_$(printf '%s' "$user" | tr 'a-z-' 'A-Z_')"
    password=$(printenv "$var" || true)
    [ -n "$password" ] || { echo "set $var: the SCRAM password of $user" >&2; exit 1; }
    "$BIN/kafka-configs.sh" "$@" --alter --entity-type users --entity-name "$user" \
      --add-config "SCRAM-SHA-512=[iterations=8192,password=$password]" >/dev/null
    echo "user     $user (SCRAM-SHA-512)"
  done
fi

if [ "${KAFKA_APPLY_ACLS:-1}" = 0 ]; then
  echo "kafka-init: ACLs not applied (KAFKA_APPLY_ACLS=0: a broker without an authorizer)"
  exit 0
fi
rows "$PLAN/acls.txt" | while read -r user operation kind name; do
  case "$kind:$name" in
    cluster:*) resource="--cluster" ;;
    *:'*') resource="--$kind=*" ;;
    *'*') resource="--$kind=${name%\*} --resource-pattern-type prefixed" ;;  # gov-*: every name with that prefix
    *) resource="--$kind=$name" ;;
  esac
  "$BIN/kafka-acls.sh" "$@" --add --allow-principal "User:$user" --operation "$operation" $resource >/dev/null
done
echo "kafka-init: $(rows "$PLAN/acls.txt" | wc -l) ACLs applied (everything else is denied)"
