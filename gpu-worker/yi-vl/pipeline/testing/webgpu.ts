// Tests and benchmarks of the WebGPU path on machines without a GPU: point the Vulkan loader at SwiftShader, the
// CPU implementation of Vulkan that Debian's chromium package ships (scripts/install-chromium.sh installs it),
// unless the environment already names a driver. Dawn reads these when onnxruntime creates its first WebGPU device.
import { existsSync } from 'node:fs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export function useSoftwareVulkanIfNoDriver(): boolean {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || !existsSync(SWIFTSHADER_ICD)) return false;
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  return true;
}
