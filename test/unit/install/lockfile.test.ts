import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/**
 * Install hygiene, read from the committed files: plain `npm ci` must accept the lockfile on any platform,
 * and `engines.node` must promise no Node version that a locked package refuses.
 */

interface LockedPackage {
  version?: string;
  optional?: boolean;
  engines?: { node?: string } | string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockedPackage>;
}
interface PackageJson {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const root = new URL('../../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as PackageJson;
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as Lockfile;

/** Where Node would find `name` from the package installed at `from` (a lockfile path such as node_modules/a/node_modules/b). */
function resolveFrom(from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!base) return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

describe('package-lock.json', () => {
  it('is lockfile version 3 and locks what package.json asks for', () => {
    expect(lock.lockfileVersion).toBe(3);
    const locked = lock.packages[''];
    expect(locked?.dependencies).toEqual(pkg.dependencies);
    expect(locked?.devDependencies).toEqual(pkg.devDependencies);
  });

  it("holds every platform's optional packages (npm ci refuses a lockfile that lacks them)", () => {
    const missing: string[] = [];
    for (const [path, p] of Object.entries(lock.packages)) {
      for (const name of Object.keys(p.optionalDependencies ?? {})) {
        if (!resolveFrom(path, name)) missing.push(`${path || '(root)'} → ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('engines.node promises only Node versions every locked package accepts', () => {
    const promised = pkg.engines.node;
    expect(semver.validRange(promised)).not.toBeNull();
    const refused: string[] = [];
    for (const [path, p] of Object.entries(lock.packages)) {
      const wants = !p.engines || Array.isArray(p.engines) ? undefined : p.engines.node;
      if (path === '' || !wants) continue;
      if (!semver.subset(promised, wants, { includePrerelease: false })) refused.push(`${path}@${p.version} wants node ${wants}`);
    }
    expect(refused).toEqual([]);
  });

  it('engines.node admits the running Node', () => {
    expect(semver.satisfies(process.versions.node, pkg.engines.node)).toBe(true);
  });
});
