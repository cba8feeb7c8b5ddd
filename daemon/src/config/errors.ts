/**
 * Configuration problems, each tied to a place in a file, and the error that carries them.
 * Loading collects every problem it can find before throwing, so one run of `decoyd check`
 * shows them all.
 */

/** A place in a configuration file. Lines and columns count from 1. */
export interface SourcePos {
  file: string;
  line: number;
  col?: number;
}

export interface ConfigIssue extends SourcePos {
  /** Where in the YAML tree, e.g. `templates.web.ports[1].port`; absent for Honeyd syntax. */
  keyPath?: string;
  message: string;
  /**
   * On a warning: `decoyd run` refuses to start with it (the feature is parsed but running
   * without it would answer wrongly); `decoyd check` still accepts the file.
   */
  blocksRun?: boolean;
}

/** `file:line[:col]: [keyPath: ]message` */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.col === undefined ? `${issue.file}:${issue.line}` : `${issue.file}:${issue.line}:${issue.col}`;
  return issue.keyPath ? `${where}: ${issue.keyPath}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** `file:line`, the form stored in HostBinding.origin and ClaimRange.origin. */
export function formatOrigin(pos: SourcePos): string {
  return `${pos.file}:${pos.line}`;
}

export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Collects issues in the order found; `throwIfAny` ends a stage that found problems. */
export class IssueList {
  readonly items: ConfigIssue[] = [];
  /** Warnings: the file is accepted, but the user must hear about these. */
  readonly warnings: ConfigIssue[] = [];

  warn(pos: SourcePos, message: string, options: { keyPath?: string; blocksRun?: boolean } = {}): void {
    const issue: ConfigIssue = { file: pos.file, line: pos.line, message };
    if (pos.col !== undefined) issue.col = pos.col;
    if (options.keyPath !== undefined && options.keyPath !== '') issue.keyPath = options.keyPath;
    if (options.blocksRun) issue.blocksRun = true;
    this.warnings.push(issue);
  }

  add(pos: SourcePos, message: string, keyPath?: string): void {
    const issue: ConfigIssue = { file: pos.file, line: pos.line, message };
    if (pos.col !== undefined) issue.col = pos.col;
    if (keyPath !== undefined && keyPath !== '') issue.keyPath = keyPath;
    this.items.push(issue);
  }

  get count(): number {
    return this.items.length;
  }

  throwIfAny(): void {
    if (this.items.length > 0) throw new ConfigError(this.items);
  }
}
