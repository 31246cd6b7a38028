#!/usr/bin/env bash
# Installs Debian's chromium (and a CJK font, so screenshots show Chinese text) for the headless browser tests
# (test/e2e/playground.slow.test.ts), and the Vulkan loader (libvulkan1) so that onnxruntime's WebGPU EP can run
# on the SwiftShader driver chromium ships (gpu-worker/yi-vl/pipeline/webgpu-kv.slow.test.ts). Idempotent; never
# downloads anything from anywhere but Debian's archive.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi wqy && ldconfig -p | grep -q 'libvulkan\.so\.1 '; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium fonts-wqy-zenhei libvulkan1
