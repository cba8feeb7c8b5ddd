/**
 * A small XML reader, enough for nmap's -oX output: elements, attributes, text, self-closing tags,
 * comments, processing instructions, a DOCTYPE without internal subset, CDATA, and the five named
 * entities plus numeric character references. Not a validating parser.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text directly inside this element. */
  text: string;
}

export class XmlParseError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'XmlParseError';
  }
}

const NAME = '[A-Za-z_:][-A-Za-z0-9_:.]*';
const ATTR_RE = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'g');
const OPEN_RE = new RegExp(`^<(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"]*"|'[^']*'))*)\\s*(/?)>`);
const CLOSE_RE = new RegExp(`^</(${NAME})\\s*>`);

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_whole, ref: string) => {
    switch (ref) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default: {
        const code = ref.startsWith('#x') ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        return code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
      }
    }
  });
}

/** Parses a document and returns its root element. */
export function parseXml(source: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let pos = 0;
  while (pos < source.length) {
    const lt = source.indexOf('<', pos);
    const textEnd = lt === -1 ? source.length : lt;
    if (textEnd > pos) {
      const text = source.slice(pos, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.text += decodeEntities(text);
      else if (text.trim().length > 0) throw new XmlParseError('text outside the root element', pos);
      pos = textEnd;
      continue;
    }
    const rest = source.slice(pos, pos + 9);
    if (rest.startsWith('<!--')) {
      pos = skipPast(source, pos, '-->');
    } else if (rest.startsWith('<?')) {
      pos = skipPast(source, pos, '?>');
    } else if (rest.startsWith('<![CDATA[')) {
      const end = source.indexOf(']]>', pos);
      if (end === -1) throw new XmlParseError('unterminated CDATA', pos);
      const top = stack[stack.length - 1];
      if (top) top.text += source.slice(pos + 9, end);
      pos = end + 3;
    } else if (rest.startsWith('<!')) {
      if (source.indexOf('[', pos) !== -1 && source.indexOf('[', pos) < source.indexOf('>', pos)) {
        throw new XmlParseError('DOCTYPE internal subsets are not supported', pos);
      }
      pos = skipPast(source, pos, '>');
    } else if (rest.startsWith('</')) {
      const m = CLOSE_RE.exec(source.slice(pos, pos + 256));
      if (!m) throw new XmlParseError('malformed end tag', pos);
      const open = stack.pop();
      if (!open || open.name !== m[1]) throw new XmlParseError(`end tag </${m[1]}> does not match <${open?.name ?? ''}>`, pos);
      if (stack.length === 0) root = open;
      pos += m[0].length;
    } else {
      const tagEnd = findTagEnd(source, pos);
      if (tagEnd === -1) throw new XmlParseError('unterminated tag', pos);
      const m = OPEN_RE.exec(source.slice(pos, tagEnd + 1));
      if (!m) throw new XmlParseError('malformed start tag', pos);
      const element: XmlElement = { name: m[1] as string, attrs: parseAttrs(m[2] ?? ''), children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else if (root !== undefined) throw new XmlParseError('second root element', pos);
      if (m[3] === '/') {
        if (!parent) root = element;
      } else {
        stack.push(element);
      }
      pos = tagEnd + 1;
    }
  }
  if (stack.length > 0) throw new XmlParseError(`unclosed element <${stack[stack.length - 1]?.name ?? ''}>`, source.length);
  if (!root) throw new XmlParseError('no root element', 0);
  return root;
}

function parseAttrs(text: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of text.matchAll(ATTR_RE)) attrs[m[1] as string] = decodeEntities(m[2] ?? m[3] ?? '');
  return attrs;
}

/** Index of the `>` ending the tag at pos, skipping quoted attribute values (they may hold `>`). */
function findTagEnd(source: string, pos: number): number {
  let quote = '';
  for (let i = pos + 1; i < source.length; i++) {
    const ch = source[i];
    if (quote !== '') {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '>') {
      return i;
    }
  }
  return -1;
}

function skipPast(source: string, pos: number, terminator: string): number {
  const end = source.indexOf(terminator, pos);
  if (end === -1) throw new XmlParseError(`missing ${terminator}`, pos);
  return end + terminator.length;
}

/** Direct children named `name`. */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

/** First direct child named `name`. */
export function childNamed(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}
