import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * Starts a worker thread running the module `name` next to the caller (`from`, the caller's `import.meta.url`): the
 * compiled `<name>.js` when it exists, else — tests and tsx run from TypeScript source — `<name>.ts` through tsx.
 *
 * Loader hooks registered in the main thread (tsx, vitest) do not reach a worker thread, so tsx is registered in the
 * thread first. Its ES module API is found from this file (vitest runs it without import.meta.resolve): `require`
 * resolves the CommonJS twin, which cannot register hooks from an eval'd thread, and the ES module sits beside it.
 */
export function startModuleThread(
  from: string,
  name: string,
  options: { workerData: unknown; resourceLimits?: ResourceLimits },
): Worker {
  const compiled = new URL(`./${name}.js`, from);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled, options);
  const source = new URL(`./${name}.ts`, from).href;
  const tsxApi = createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  if (!existsSync(tsxApi)) throw new Error(`cannot run the thread ${name} from source: ${tsxApi} not found`);
  const tsx = pathToFileURL(tsxApi).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
