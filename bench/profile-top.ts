// Prints the heaviest frames of V8 CPU profiles (from `npm run bench -- --profile`): self time by function.
// usage: node --import tsx bench/profile-top.ts <file.cpuprofile|dir> [count]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

const [target, countArg] = process.argv.slice(2);
if (!target) throw new Error('usage: profile-top.ts <file.cpuprofile|dir> [count]');
const files = statSync(target).isDirectory()
  ? readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(target, f))
  : [target];
const count = Number(countArg ?? 25);

const short = (url: string): string => url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, '~/').replace(/.*\/(dist|src)\//, '$1/');

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${url ? `${short(url)}:${lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  process.stdout.write(`\n${path.basename(file)}: ${seconds.toFixed(1)} s, ${total} samples\n-- self time\n`);
  for (const [key, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    process.stdout.write(`${((hits / total) * 100).toFixed(1).padStart(5)} %  ${key}\n`);
  }
  // Inclusive time: every frame on the stack of a sample counts once for it.
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n: Node): string => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url ? `${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
  const inclusive = new Map<string, number>();
  let busy = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0 || ['(idle)', '(program)', '(garbage collector)'].includes(n.callFrame.functionName)) continue;
    busy += hits;
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const k = keyOf(byId.get(id)!);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + hits);
    }
  }
  process.stdout.write(`-- inclusive time, share of busy samples (${busy})\n`);
  for (const [key, hits] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    process.stdout.write(`${((hits / busy) * 100).toFixed(1).padStart(5)} %  ${key}\n`);
  }
}
