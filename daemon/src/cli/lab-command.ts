export async function runDemoLabCommand(_argv: string[]): Promise<void> {
  throw new Error('lab: not wired yet');
}
