import { parseArgs } from 'node:util';
import { runDemoLab } from '../lab/demo';

/** `decoyd lab [--config FILE]`: the demo lab in network namespaces, until Ctrl-C. */
export async function runDemoLabCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } } });
  if (process.getuid?.() !== 0) throw new Error('lab: needs root (it creates network namespaces)');
  process.exitCode = await runDemoLab({ configPath: values.config });
}
