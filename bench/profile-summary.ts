/**
 * Where a service's CPU went, from a `node --cpu-prof` profile (`BENCH_CPU_PROFILE=1 npm run bench`
 * writes one under bench/results/profiles): self and inclusive time by package, and the functions
 * with the most self time. `npm run bench:profile -- <file.cpuprofile>`; the file also opens as a
 * flame graph in Chrome DevTools (Performance) or speedscope.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** The package a frame belongs to: `pino`, `@mikro-orm/core`, `service src/orders/…`, `node`, `(gc)`. */
function packageOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first.startsWith('@') ? `${first}/${second}` : first;
  }
  if (url.startsWith('node:')) return 'node';
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `service ${url.slice(dist + '/dist/'.length).split('/')[0]}`;
  return url;
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? url.slice(dist + 1) : url;
}

function table(title: string, entries: [string, number][], total: number, limit: number): string {
  const lines = entries
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(
      ([name, ms]) =>
        `${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${name}`,
    );
  return [`\n${title}`, ...lines].join('\n');
}

export function summarize(profile: Profile, limit = 25): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const perSample = (profile.endTime - profile.startTime) / 1000 / profile.samples.length;

  const selfByPackage = new Map<string, number>();
  const inclusiveByPackage = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  let busy = 0;
  for (const id of profile.samples) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    busy += perSample;
    const own = packageOf(node.callFrame);
    selfByPackage.set(own, (selfByPackage.get(own) ?? 0) + perSample);
    const name = `${node.callFrame.functionName || '(anonymous)'}  ${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
    selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + perSample);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const pkg = packageOf(byId.get(at)!.callFrame);
      if (seen.has(pkg)) continue;
      seen.add(pkg);
      inclusiveByPackage.set(pkg, (inclusiveByPackage.get(pkg) ?? 0) + perSample);
    }
  }
  const wall = (profile.endTime - profile.startTime) / 1000;
  return [
    `profile: ${wall.toFixed(0)} ms wall, ${busy.toFixed(0)} ms on CPU (the rest idle)`,
    table('self time by package', [...selfByPackage], busy, limit),
    table(
      'inclusive time by package (a package anywhere on the stack)',
      [...inclusiveByPackage],
      busy,
      limit,
    ),
    table('self time by function', [...selfByFunction], busy, limit),
  ].join('\n');
}

/** The newest profile of the service (the sandbox's are `sandbox-….cpuprofile`: name one to read it). */
function newestProfile(dir: string): string {
  const files = readdirSync(dir).filter(
    (name) => name.endsWith('.cpuprofile') && !name.startsWith('sandbox-'),
  );
  if (!files.length) throw new Error(`No .cpuprofile in ${dir}: run BENCH_CPU_PROFILE=1 npm run bench first`);
  return files.map((name) => join(dir, name)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

if (require.main === module) {
  const file = process.argv[2] ?? newestProfile(join(__dirname, 'results', 'profiles'));
  console.log(file);
  console.log(summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(process.argv[3] ?? 25)));
}
