export function personalitiesCommand(_argv: string[]): void {
  throw new Error('personalities: not wired yet');
}
