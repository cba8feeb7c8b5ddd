/**
 * js-yaml builds plain values and forgets where they came from. Its `listener` option reports
 * every node as it opens and closes; this module rebuilds the node tree from those events and
 * indexes the start of each value (and each mapping key) by key path, so validation messages
 * can name line and column.
 */

import yaml from 'js-yaml';
import { IssueList } from './errors';

export type KeyPath = readonly (string | number)[];

export interface LineCol {
  line: number;
  col: number;
}

/** `templates.web.ports[1].port` */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

export class YamlPositions {
  constructor(
    private readonly values: Map<string, number>,
    private readonly keys: Map<string, number>,
    private readonly lineStarts: number[],
  ) {}

  /** Start of the value at `path`, or of its nearest indexed ancestor. */
  valueAt(path: KeyPath): LineCol {
    for (let n = path.length; n >= 0; n--) {
      const off = this.values.get(indexKey(path.slice(0, n)));
      if (off !== undefined) return this.lineCol(off);
    }
    return { line: 1, col: 1 };
  }

  /** Start of the mapping key that ends `path` (falls back to the value). */
  keyAt(path: KeyPath): LineCol {
    const off = this.keys.get(indexKey(path));
    return off === undefined ? this.valueAt(path) : this.lineCol(off);
  }

  private lineCol(offset: number): LineCol {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo] + 1 };
  }
}

interface RawNode {
  start: number;
  kind: string | null;
  result: unknown;
  children: RawNode[];
}

/** Parses one YAML document; syntax errors go to `issues` and yield undefined. */
export function loadYamlWithPositions(
  text: string,
  file: string,
  issues: IssueList,
): { doc: unknown; positions: YamlPositions } | undefined {
  const stack: RawNode[] = [];
  let root: RawNode | undefined;
  let doc: unknown;
  try {
    doc = yaml.load(text, {
      filename: file,
      listener(event, state) {
        if (event === 'open') {
          stack.push({ start: state.position, kind: null, result: undefined, children: [] });
          return;
        }
        const node = stack.pop();
        if (node === undefined) return;
        node.kind = state.kind;
        node.result = state.result;
        const parent = stack[stack.length - 1];
        if (parent) parent.children.push(node);
        else root = node;
      },
    });
  } catch (err) {
    if (err instanceof yaml.YAMLException) {
      issues.add({ file, line: err.mark.line + 1, col: err.mark.column + 1 }, `YAML syntax: ${err.reason}`);
      return undefined;
    }
    throw err;
  }
  const values = new Map<string, number>();
  const keys = new Map<string, number>();
  if (root) indexNode(unwrap(root), [], text, values, keys);
  return { doc, positions: new YamlPositions(values, keys, lineStartsOf(text)) };
}

/** Some constructs (flow collections in block sequences) report one node twice, nested. */
function unwrap(node: RawNode): RawNode {
  let n = node;
  while (n.children.length === 1 && Object.is(n.children[0].result, n.result)) n = n.children[0];
  return n;
}

function indexNode(
  node: RawNode,
  path: (string | number)[],
  text: string,
  values: Map<string, number>,
  keys: Map<string, number>,
): void {
  values.set(indexKey(path), contentStart(text, node.start));
  const value = node.result;
  if (Array.isArray(value)) {
    // Empty items (`- ` alone) produce no node, so align children to items by identity.
    let c = 0;
    for (let i = 0; i < value.length && c < node.children.length; i++) {
      const child = unwrap(node.children[c]);
      if (Object.is(child.result, value[i])) {
        indexNode(child, [...path, i], text, values, keys);
        c++;
      }
    }
    return;
  }
  if (value !== null && typeof value === 'object' && node.kind === 'mapping') {
    for (let c = 0; c + 1 < node.children.length; c += 2) {
      const keyNode = unwrap(node.children[c]);
      const valueNode = unwrap(node.children[c + 1]);
      const key = String(keyNode.result);
      const childPath = [...path, key];
      const keyStart = contentStart(text, keyNode.start);
      keys.set(indexKey(childPath), keyStart);
      if (valueNode.kind === null && valueNode.result === null) values.set(indexKey(childPath), keyStart);
      else indexNode(valueNode, childPath, text, values, keys);
    }
  }
}

/** Node starts are reported before separating blanks and comments; skip them. */
function contentStart(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const ch = text[i];
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\ufeff') i++;
    else if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else break;
  }
  return i;
}

function indexKey(path: KeyPath): string {
  return path.map(String).join('\u0001');
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}
