#!/bin/sh
# Worker container entry: fetch the model when MODEL_S3_URI is set (else MODEL_DIR must be a mounted model), then
# replace this shell with the worker so SIGTERM reaches it directly (tini is PID 1). Both are commands of the
# worker release unpacked at YI_VL_HOME.
set -eu
: "${MODEL_DIR:?MODEL_DIR must point at a converted model folder}"
YI_VL_HOME="${YI_VL_HOME:-/opt/yi-vl}"
if [ -n "${MODEL_S3_URI:-}" ]; then
  "$YI_VL_HOME/bin/yi-vl-pull-model"
elif [ ! -f "${MODEL_DIR}/manifest.json" ]; then
  echo "yi-vl-worker: no manifest.json in ${MODEL_DIR}; mount the converted model there or set MODEL_S3_URI" >&2
  exit 64
fi
exec "$YI_VL_HOME/bin/yi-vl-worker" "$@"
