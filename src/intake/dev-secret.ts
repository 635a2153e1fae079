// A development secret for GitHub webhooks, so `npm start` then `npm run demo` works with no set-up. Used only when
// GITHUB_WEBHOOK_SECRET is unset and the server listens on loopback (nothing outside this machine can reach it);
// kept in a 0600 file in the logs folder, where the demo finds it.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function devSecretPath(logsDir: string): string {
  return join(logsDir, '.dev-webhook-secret');
}

export function readDevSecret(logsDir: string): string | undefined {
  try {
    const secret = readFileSync(devSecretPath(logsDir), 'utf8').trim();
    return secret.length >= 32 ? secret : undefined;
  } catch {
    return undefined; // none made yet
  }
}

export function devSecret(logsDir: string): string {
  const existing = readDevSecret(logsDir);
  if (existing !== undefined) return existing;
  mkdirSync(logsDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(devSecretPath(logsDir), `${secret}\n`, { mode: 0o600 });
  return secret;
}

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}
