// Launches the system Chromium through playwright-core (no browser download).
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
  '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync',
];

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * A normal (persistent) browser profile with Chromium's defaults. Chromium
 * blocks third-party cookies and storage by default here, so a cross-site
 * iframe gets no sessionStorage; tests that need a user who allows them set
 * the profile preference (see tests/e2e/demo.test.mjs).
 */
export async function launchProfile() {
  const dir = mkdtempSync(join(tmpdir(), 'ext-sso-chromium-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath, headless: true, args: CHROMIUM_ARGS });
  return {
    context,
    async close() { await context.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** An incognito-like context (`browser.newContext()`): cross-site iframes get no sessionStorage. */
export async function launchIncognito() {
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  const context = await browser.newContext();
  return { context, async close() { await browser.close(); } };
}
