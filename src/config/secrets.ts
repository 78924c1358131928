/**
 * Secrets come only from the environment or from a file (e.g. a mounted Kubernetes / Docker secret), never from
 * YAML. Their values never enter an issue message: problems name the variable or the file instead.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

export type SecretResult = { ok: true; value: string; source: string } | { ok: false; message: string };

/** Reads a secret from `file` (relative to `baseDir`) when given, otherwise from the environment variable `envName`. */
export function resolveSecret(options: {
  what: string;
  envName: string;
  file?: string;
  baseDir: string;
  env: Readonly<Record<string, string | undefined>>;
  settingHint: string;
}): SecretResult {
  if (options.file !== undefined) {
    const path = isAbsolute(options.file) ? options.file : resolve(options.baseDir, options.file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`;
      return { ok: false, message: `${options.what} file ${path} ${reason}` };
    }
    const value = text.trim();
    if (!value) return { ok: false, message: `${options.what} file ${path} is empty` };
    return { ok: true, value, source: `file ${path}` };
  }
  const value = options.env[options.envName]?.trim();
  if (!value) {
    const state = options.env[options.envName] === undefined ? 'is not set' : 'is empty';
    return {
      ok: false,
      message: `${options.what} missing: environment variable ${options.envName} ${state} (${options.settingHint})`,
    };
  }
  return { ok: true, value, source: `env ${options.envName}` };
}
