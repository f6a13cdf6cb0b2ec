// Screenshots at a desktop and a phone width into web/screenshots/ (git-ignored).
import path from 'node:path';
import type { Page } from '@playwright/test';

const OUT = path.resolve(import.meta.dirname, '../screenshots');
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;

export async function shoot(page: Page, name: string) {
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: path.join(OUT, `${name}-${label}.png`), fullPage: label === 'phone' });
  }
  await page.setViewportSize(VIEWPORTS.desktop);
}
