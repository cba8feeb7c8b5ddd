/**
 * Splits one line of Honeyd configuration into words and quoted strings.
 * Honeyd's grammar is free-form, but real configurations put one statement per line;
 * decoyd requires that, which lets every message name the statement's line.
 */

export interface HoneydToken {
  text: string;
  /** True for "double quoted" strings (Honeyd's CMDSTRING). */
  quoted: boolean;
  /** 1-based column of the token's first character. */
  col: number;
}

export type LexResult = { tokens: HoneydToken[] } | { error: string; col: number };

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"' };

/**
 * Words run to the next blank, quote or `#`; a `#` outside quotes starts a comment.
 * Quoted strings may use \n \r \t \\ \" and \xHH (a decoyd extension for banners;
 * Honeyd itself had no escapes, and no Honeyd personality name contains a backslash).
 */
export function lexHoneydLine(line: string): LexResult {
  const tokens: HoneydToken[] = [];
  let i = 0;
  while (i < line.length) {
    const ch = line[i];
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      i++;
      continue;
    }
    if (ch === '#') break;
    if (ch === '"') {
      const start = i;
      let text = '';
      i++;
      for (;;) {
        if (i >= line.length) return { error: 'unterminated quoted string', col: start + 1 };
        const c = line[i];
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\') {
          const next = line[i + 1];
          if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
            text += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
            i += 4;
            continue;
          }
          const mapped = next === undefined ? undefined : ESCAPES[next];
          if (mapped === undefined) return { error: `unknown escape "\\${next ?? ''}" in quoted string`, col: i + 1 };
          text += mapped;
          i += 2;
          continue;
        }
        text += c;
        i++;
      }
      tokens.push({ text, quoted: true, col: start + 1 });
      continue;
    }
    const start = i;
    while (i < line.length && !' \t\r"#'.includes(line[i])) i++;
    tokens.push({ text: line.slice(start, i), quoted: false, col: start + 1 });
  }
  return { tokens };
}
