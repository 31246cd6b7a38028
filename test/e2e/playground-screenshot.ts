/**
 * Renders the README's screenshot of the playground (docs/images/playground.png) from the local stack in headless
 * Chromium: `npx tsx test/e2e/playground-screenshot.ts [out.png]`. Not a test; a CJK font (Debian's fonts-wqy-zenhei)
 * makes the Chinese text render.
 */
import sharp from 'sharp';
import { launchChromium, scenePng, startLocalStack } from './playground-support.ts';

const key = 'yvl_docs_screenshot_key_0123456789ab';
const png = await scenePng();
const [stack, browser] = await Promise.all([startLocalStack(key), launchChromium()]);
try {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1200, height: 1000 });
  await page.goto(`${stack.base}/`);
  await page.locator('#api-key').fill(key);
  await page.locator('#image').setInputFiles({ name: 'house.png', mimeType: 'image/png', buffer: png });
  await page.locator('#prompt').fill('What is in this picture? 图片里有什么？');
  await page.locator('#max-tokens').fill('16');
  await page.locator('#temperature').fill('0');
  await page.locator('#submit').click();
  await page.locator('#thread .a.answer').first().waitFor({ timeout: 60_000 });
  await page.waitForFunction(() => (document.getElementById('model-input') as HTMLImageElement).naturalWidth === 448);
  await page.locator('#followup-prompt').fill('这个房子是什么颜色的？');
  await page.locator('#followup-submit').click();
  await page.locator('#thread .a.answer').nth(1).waitFor({ timeout: 60_000 });
  const shot = await page.screenshot({ fullPage: true });
  // A palette PNG is a third of the size and looks the same for this flat page.
  await sharp(shot)
    .png({ palette: true, quality: 90, compressionLevel: 9 })
    .toFile(process.argv[2] ?? 'docs/images/playground.png');
} finally {
  await browser.close();
  await stack.stop();
}
