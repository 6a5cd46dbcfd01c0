// The version of imgd, from its package.json (beside src/ and dist/ alike).
import { readFileSync } from 'node:fs';

export function imgdVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
