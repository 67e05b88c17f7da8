import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from '../errors/config-error.js';
import type { ConfigPath, ConfigSource } from './issues.js';

/**
 * Parses a YAML or JSON config text (JSON is parsed as YAML 1.2, so both get line numbers) and keeps
 * the document to locate any path in it.
 */
export function parseConfigText(text: string, file: string): { raw: unknown; source: ConfigSource } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) {
    const issues: ConfigIssue[] = document.errors.map((error) => {
      const position = lineCounter.linePos(error.pos[0]);
      return { path: '', message: firstLine(error.message), file, line: position.line, column: position.col };
    });
    throw new ConfigError(issues);
  }
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const source: ConfigSource = {
    file,
    locate(path: ConfigPath, part: 'key' | 'value') {
      let node: unknown = document.contents;
      let located = rangeStart(node);
      for (let i = 0; i < path.length; i++) {
        const segment = path[i]!;
        if (isMap(node)) {
          const pair = node.items.find(
            (item) => isScalar(item.key) && String(item.key.value) === String(segment),
          );
          if (pair === undefined) break;
          const isLast = i === path.length - 1;
          if (isLast && part === 'key') return position(rangeStart(pair.key) ?? located ?? 0);
          node = pair.value;
          located = rangeStart(pair.value) ?? rangeStart(pair.key) ?? located;
        } else if (isSeq(node) && typeof segment === 'number') {
          const item = node.items[segment];
          if (item === undefined) break;
          node = item;
          located = rangeStart(item) ?? located;
        } else {
          break;
        }
      }
      return located === undefined ? undefined : position(located);
    },
  };
  return { raw: document.toJS(), source };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range === undefined || range === null ? undefined : range[0];
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
