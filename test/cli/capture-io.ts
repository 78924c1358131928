import type { CliIo } from '../../src/cli/io.js';

/** An in-memory `CliIo`: what a command printed, for in-process tests. */
export function captureIo(
  env: Record<string, string> = {},
  cwd = process.cwd(),
): CliIo & {
  out: () => string;
  err: () => string;
} {
  let out = '';
  let err = '';
  return {
    stdout: (text) => void (out += text),
    stderr: (text) => void (err += text),
    env,
    cwd,
    out: () => out,
    err: () => err,
  };
}
