/**
 * `handoff trace analyze <file>`: what the proxy did with each packet around each migration of a
 * recorded trace (JSONL: `handoff demo --trace`, `handoff proxy --trace`, or the kit's
 * `jsonlTraceRecorder`); `--json` prints the analysis as one JSON object. docs/traces.md.
 */
import { readFile } from 'node:fs/promises';
import { CliError } from '../errors.js';
import type { CliIo } from '../io.js';
import { analyzeTrace, formatAnalysis, parseTrace } from '../trace/analyze.js';

export interface TraceAnalyzeArgs {
  readonly file: string;
  readonly json?: boolean | undefined;
}

/** Exit status 0 with a report; `ERR_CLI_FILE` when the file cannot be read or holds no trace record. */
export async function traceAnalyzeCommand(args: TraceAnalyzeArgs, io: CliIo): Promise<number> {
  let text: string;
  try {
    text = await readFile(args.file, 'utf8');
  } catch (error) {
    throw new CliError('ERR_CLI_FILE', `cannot read the trace ${args.file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  const parsed = parseTrace(text);
  if (parsed.records.length === 0) {
    const first = parsed.invalid[0];
    throw new CliError('ERR_CLI_FILE', `${args.file} holds no trace record${first ? ` (line ${first.line}: ${first.reason})` : ' (it is empty)'}`);
  }
  const analysis = analyzeTrace(parsed);
  if (args.json) io.stdout(JSON.stringify(analysis));
  else for (const line of formatAnalysis(analysis)) io.stdout(line);
  return 0;
}
