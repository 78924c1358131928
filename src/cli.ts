#!/usr/bin/env node
/**
 * The `presence-poller` executable. Everything lives in `cli/`; this file only binds the program to the process.
 * It exits explicitly so a library's stray timer cannot keep a finished command alive.
 */
import { processIo } from './cli/io.js';
import { runCli } from './cli/program.js';

const code = await runCli(process.argv.slice(2), processIo());
process.exit(code);
