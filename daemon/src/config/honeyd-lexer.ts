/**
 * Tokenizer for Honeyd's configuration language, following Honeyd's own `lex.l` (1.6d):
 * - newlines are whitespace: statements may share a line and span lines;
 * - `#` starts a comment that runs to the end of the line, anywhere outside quotes;
 * - quoted strings are `"[^"]+"`: no escapes, not empty, and they may span lines;
 * - bare words are `[$A-Za-z][.()/A-Za-z_\-0-9*]*`, numbers `[0-9]+`, floats `[0-9]+.[0-9]+`,
 *   addresses `[0-9]+.[0-9]+.[0-9]+.[0-9]+` (longest match, as flex does: `10Mbps` is 10 then Mbps);
 * - punctuation `. - = : /`; any other character is an `illegal` token for the parser to report;
 * - after the word `include`, the next run of non-blank characters is taken literally (a `raw` token).
 * Where decoyd differs it says so through `notes`: a final comment without a newline (Honeyd 1.6d
 * reports an illegal token there) and carriage returns (Honeyd: illegal token) are read as a
 * comment and as whitespace.
 */

export type TokenKind = 'word' | 'string' | 'number' | 'float' | 'ip' | 'punct' | 'raw' | 'illegal' | 'eof';

export interface HoneydToken {
  kind: TokenKind;
  /** The text; for strings without the quotes. */
  text: string;
  /** 1-based line and column of the first character. */
  line: number;
  col: number;
  /** Line of the last character (a quoted string may span lines). */
  endLine: number;
}

export interface LexNote {
  line: number;
  col: number;
  message: string;
}

export interface LexResult {
  tokens: HoneydToken[];
  /** Places where decoyd reads the file differently from Honeyd 1.6d. */
  notes: LexNote[];
}

const IP_RE = /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/y;
const FLOAT_RE = /[0-9]+\.[0-9]+/y;
const NUMBER_RE = /[0-9]+/y;
const WORD_RE = /[$A-Za-z][.()/A-Za-z_\-0-9*]*/y;
const PUNCT = '.-=:/';

function matchAt(re: RegExp, text: string, at: number): string | undefined {
  re.lastIndex = at;
  const m = re.exec(text);
  return m ? m[0] : undefined;
}

export function lexHoneyd(text: string): LexResult {
  const tokens: HoneydToken[] = [];
  const notes: LexNote[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let sawCarriageReturn = false;
  const push = (kind: TokenKind, value: string, start: number, length: number, startLine = line, startCol = start - lineStart + 1): void => {
    tokens.push({ kind, text: value, line: startLine, col: startCol, endLine: line });
    i = start + length;
  };
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (ch === ' ' || ch === '\t') {
      i++;
      continue;
    }
    if (ch === '\r') {
      if (!sawCarriageReturn) notes.push({ line, col: i - lineStart + 1, message: 'carriage return (CRLF line ends): Honeyd 1.6d reports an illegal token here; decoyd reads it as whitespace' });
      sawCarriageReturn = true;
      i++;
      continue;
    }
    if (ch === '#') {
      const end = text.indexOf('\n', i);
      if (end === -1) {
        notes.push({ line, col: i - lineStart + 1, message: 'the comment on the last line has no newline: Honeyd 1.6d reads it as an illegal token followed by configuration (a Honeyd bug); decoyd reads it as a comment' });
        i = text.length;
      } else i = end;
      continue;
    }
    if (ch === '"') {
      const close = text.indexOf('"', i + 1);
      if (close === -1) {
        push('illegal', '"', i, 1);
        // Nothing after an unterminated quote can be read as Honeyd would: stop here.
        tokens[tokens.length - 1].text = 'unterminated "';
        i = text.length;
        break;
      }
      if (close === i + 1) {
        push('illegal', '""', i, 2);
        continue;
      }
      const startLine = line;
      const startCol = i - lineStart + 1;
      const body = text.slice(i + 1, close);
      for (let k = i + 1; k < close; k++) {
        if (text[k] === '\n') {
          line++;
          lineStart = k + 1;
        }
      }
      push('string', body, i, close + 1 - i, startLine, startCol);
      continue;
    }
    if (ch >= '0' && ch <= '9') {
      const ip = matchAt(IP_RE, text, i);
      if (ip !== undefined) {
        push('ip', ip, i, ip.length);
        continue;
      }
      const float = matchAt(FLOAT_RE, text, i);
      if (float !== undefined) {
        push('float', float, i, float.length);
        continue;
      }
      const num = matchAt(NUMBER_RE, text, i) as string;
      push('number', num, i, num.length);
      continue;
    }
    const word = matchAt(WORD_RE, text, i);
    if (word !== undefined) {
      push('word', word, i, word.length);
      if (word === 'include') readIncludeName();
      continue;
    }
    if (PUNCT.includes(ch)) {
      push('punct', ch, i, 1);
      continue;
    }
    push('illegal', ch, i, 1);
  }
  tokens.push({ kind: 'eof', text: '', line, col: i - lineStart + 1, endLine: line });
  return { tokens, notes };

  /** Honeyd's `<incl>` start condition: skip blanks, then take `[^ \t\n]+` literally. */
  function readIncludeName(): void {
    let j = i;
    while (j < text.length && (text[j] === ' ' || text[j] === '\t')) j++;
    let end = j;
    while (end < text.length && !' \t\n\r'.includes(text[end])) end++;
    if (end > j) push('raw', text.slice(j, end), j, end - j);
  }
}

/** Honeyd 1.6d's reserved words (1.5c lacks filtered, closed, broadcast, srcport, dstport). */
export const KEYWORDS: ReadonlySet<string> = new Set(
  (
    'create add port bind clone open default action set personality random annotate no finscan fragment drop old new ' +
    'proxy uptime droprate in syn uid gid route entry net link unreach latency bandwidth ms loss subsystem template ' +
    'option to on dhcp shared restart network tunnel tarpit spoof from delete tcp udp icmp dynamic source list ip os ' +
    'use if otherwise between time internal maxfds ethernet debug include filtered closed block reset broadcast ' +
    'srcport dstport Kbps Mbps'
  ).split(' '),
);

/** Words that are reserved in Honeyd 1.6d but not in 1.5c, where they were script names. */
export const KEYWORDS_NEW_IN_16D: ReadonlySet<string> = new Set(['filtered', 'closed', 'broadcast', 'srcport', 'dstport']);

/** How a token reads in a message: `word "x"`, `"quoted string"`, `end of file`. */
export function describeToken(t: HoneydToken): string {
  switch (t.kind) {
    case 'eof':
      return 'the end of the file';
    case 'string':
      return `the quoted string "${t.text.length > 40 ? t.text.slice(0, 37) + '...' : t.text}"`;
    case 'illegal':
      if (t.text === '""') return 'an empty quoted string "" (Honeyd strings cannot be empty or contain ")';
      if (t.text.startsWith('unterminated')) return 'a quote that is never closed';
      return `the character "${t.text}" (Honeyd: illegal token)`;
    case 'word':
      return KEYWORDS.has(t.text) ? `the keyword "${t.text}"` : `the word "${t.text}"`;
    case 'punct':
      return `"${t.text}"`;
    default:
      return `"${t.text}"`;
  }
}
