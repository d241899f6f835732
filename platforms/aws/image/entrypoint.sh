#!/bin/sh
# On AWS, credentials arrive as separate variables (ECS secrets, the CSI-synced Secret, the EC2
# env file) next to the endpoints; the services read one URL each. Build the URL when it is
# not given. Values are URL-safe: the generated passwords exclude punctuation.
set -eu
if [ -z "${DATABASE_URL:-}" ] && [ -n "${DATABASE_HOST:-}" ]; then
  export DATABASE_URL="postgres://${DATABASE_USER}:${DATABASE_PASSWORD}@${DATABASE_HOST}:${DATABASE_PORT:-5432}/${DATABASE_NAME}?sslmode=${DATABASE_SSLMODE:-require}"
fi
if [ -z "${REDIS_URL:-}" ] && [ -n "${REDIS_HOST:-}" ]; then
  scheme=redis; [ "${REDIS_TLS:-off}" = on ] && scheme=rediss
  auth=""; [ -n "${REDIS_AUTH_TOKEN:-}" ] && auth=":${REDIS_AUTH_TOKEN}@"
  [ -n "${REDIS_PASSWORD:-}" ] && auth="${REDIS_USER:-default}:${REDIS_PASSWORD}@"
  export REDIS_URL="${scheme}://${auth}${REDIS_HOST}:${REDIS_PORT:-6379}"
fi
if [ -z "${MONGO_URL:-}" ] && [ -n "${MONGO_HOST:-}" ]; then
  tls=false; [ "${MONGO_TLS:-off}" = on ] && tls=true
  # DocumentDB: TLS, no retryable writes.
  export MONGO_URL="mongodb://${MONGO_USER}:${MONGO_PASSWORD}@${MONGO_HOST}:${MONGO_PORT:-27017}/cloudcafe?tls=${tls}&retryWrites=false"
fi
exec "$@"
