import type { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';

/** Shared by the command actions of one program run: where to write, and the exit code the run ends with. */
export interface CliContext {
  io: CliIo;
  exitCode: ExitCode;
}
