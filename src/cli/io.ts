/**
 * What a command may touch of its process, passed in so the program can run in-process in unit tests with
 * captured output. Long-running commands (`run`, `tail`, `simulator`) also listen to process signals.
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Environment for secrets and `PRESENCE__` overrides. */
  env: Readonly<Record<string, string | undefined>>;
  /** Base for relative paths (`--config`), and config issues name files relative to it. */
  cwd: string;
}

/** The real process: stdout, stderr, `process.env`, `process.cwd()`. */
export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  };
}

/** The first of `signals` the process receives; `dispose()` stops listening (the promise then never settles). */
export function onceSignal(signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): {
  received: Promise<NodeJS.Signals>;
  dispose(): void;
} {
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const dispose = () => {
    for (const name of signals) process.off(name, onSignal);
  };
  const received = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal) => {
      dispose();
      resolve(signal);
    };
    for (const name of signals) process.on(name, onSignal);
  });
  return { received, dispose };
}
