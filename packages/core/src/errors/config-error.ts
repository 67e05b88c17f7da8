import { EkiplError } from './ekipl-error.js';

const marker = 'ekipl.error.config';
const symbol = Symbol.for(marker);

/** One problem in a config file, located by its path inside the config and, when known, file position. */
export interface ConfigIssue {
  /** Config path in the form users write it: `auxiliary[1].options.model`; empty for the whole file. */
  path: string;
  /** What is wrong and, where it helps, how to fix it: `expected string, got number`. */
  message: string;
  /** The config file the issue was found in. */
  file?: string;
  /** 1-based line of the offending key or value in `file`. */
  line?: number;
  /** 1-based column of the offending key or value in `file`. */
  column?: number;
}

/** A config that cannot be used. Carries every issue found, not just the first. */
export class ConfigError extends EkiplError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through Symbol.for
  private readonly [symbol] = true;
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(formatConfigIssues(issues), options);
    this.name = 'ConfigError';
    this.issues = issues;
  }

  static override isInstance(error: unknown): error is ConfigError {
    return EkiplError.hasMarker(error, marker);
  }
}

/** `file:line:column path: message`, one issue per line. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const location =
    issue.file === undefined
      ? ''
      : issue.line === undefined
        ? `${issue.file}: `
        : `${issue.file}:${issue.line}:${issue.column ?? 1}: `;
  const path = issue.path === '' ? '' : `${issue.path}: `;
  return `${location}${path}${issue.message}`;
}

export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  if (issues.length === 1) return formatConfigIssue(issues[0]!);
  return `${issues.length} problems in the config:\n${issues.map((issue) => `  ${formatConfigIssue(issue)}`).join('\n')}`;
}
