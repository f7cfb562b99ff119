// A small strict XML 1.0 reader for tests: well-formedness (characters, names, quoting, references, nesting, one root) and a decoded tree.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: Array<XmlElement | string>;
}

const CHAR = /^[\t\n\r\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;
const NAME = /^[A-Za-z_:][A-Za-z0-9._:-]*/;

class Reader {
  i = 0;
  constructor(readonly s: string) {}
  fail(why: string): never {
    const before = this.s.slice(0, this.i);
    const line = before.split('\n').length;
    const col = this.i - before.lastIndexOf('\n');
    throw new Error(`XML not well-formed at ${line}:${col}: ${why}`);
  }
  starts(t: string): boolean {
    return this.s.startsWith(t, this.i);
  }
  expect(t: string): void {
    if (!this.starts(t)) this.fail(`expected ${JSON.stringify(t)}`);
    this.i += t.length;
  }
  space(required = false): void {
    const m = /^[ \t\r\n]*/.exec(this.s.slice(this.i))!;
    if (required && !m[0].length) this.fail('expected white space');
    this.i += m[0].length;
  }
  name(): string {
    const m = NAME.exec(this.s.slice(this.i));
    if (!m) this.fail('expected a name');
    this.i += m[0].length;
    return m[0];
  }
}

function decodeRefs(r: Reader, raw: string): string {
  return raw.replace(/&([^;]*);|&/g, (whole, ref: string | undefined) => {
    if (ref === undefined) r.fail(`bare "&" in ${JSON.stringify(raw.slice(0, 40))}`);
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (named[ref] !== undefined) return named[ref];
    const m = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ref);
    if (!m) r.fail(`unknown reference ${whole}`);
    const code = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
    const ch = code <= 0x10ffff ? String.fromCodePoint(code) : '';
    if (!ch || !CHAR.test(ch)) r.fail(`reference ${whole} to a character XML forbids`);
    return ch;
  });
}

function misc(r: Reader): void {
  for (;;) {
    r.space();
    if (r.starts('<!--')) {
      const end = r.s.indexOf('-->', r.i + 4);
      if (end < 0) r.fail('unclosed comment');
      if (r.s.slice(r.i + 4, end).includes('--')) r.fail('"--" inside a comment');
      r.i = end + 3;
    } else return;
  }
}

function element(r: Reader): XmlElement {
  r.expect('<');
  const name = r.name();
  const attrs: Record<string, string> = {};
  for (;;) {
    const hadSpace = /^[ \t\r\n]/.test(r.s.slice(r.i, r.i + 1));
    r.space();
    if (r.starts('/>')) {
      r.i += 2;
      return { name, attrs, children: [] };
    }
    if (r.starts('>')) {
      r.i += 1;
      break;
    }
    if (!hadSpace) r.fail('expected white space before an attribute');
    const key = r.name();
    if (Object.hasOwn(attrs, key)) r.fail(`attribute ${key} given twice`);
    r.space();
    r.expect('=');
    r.space();
    const quote = r.s[r.i];
    if (quote !== '"' && quote !== "'") r.fail('attribute value not quoted');
    const end = r.s.indexOf(quote, r.i + 1);
    if (end < 0) r.fail('unclosed attribute value');
    const raw = r.s.slice(r.i + 1, end);
    if (raw.includes('<')) r.fail(`"<" in the value of ${key}`);
    // Attribute-value normalisation: literal white space becomes a space; references keep theirs.
    attrs[key] = decodeRefs(r, raw.replace(/[\t\n\r]/g, ' '));
    r.i = end + 1;
  }
  const children: Array<XmlElement | string> = [];
  let text = '';
  for (;;) {
    if (r.i >= r.s.length) r.fail(`<${name}> not closed`);
    if (r.starts('</')) {
      r.i += 2;
      const closing = r.name();
      if (closing !== name) r.fail(`</${closing}> closes <${name}>`);
      r.space();
      r.expect('>');
      if (text) children.push(text);
      return { name, attrs, children };
    }
    if (r.starts('<![CDATA[')) {
      const end = r.s.indexOf(']]>', r.i);
      if (end < 0) r.fail('unclosed CDATA section');
      text += r.s.slice(r.i + 9, end);
      r.i = end + 3;
      continue;
    }
    if (r.starts('<!--')) {
      misc(r);
      continue;
    }
    if (r.starts('<')) {
      if (text) children.push(text);
      text = '';
      children.push(element(r));
      continue;
    }
    const next = r.s.indexOf('<', r.i);
    const raw = r.s.slice(r.i, next < 0 ? r.s.length : next);
    if (raw.includes(']]>')) r.fail('"]]>" in character data');
    text += decodeRefs(r, raw);
    r.i += raw.length;
  }
}

/** Parses a whole document strictly; throws "XML not well-formed at line:col: why". */
export function parseXmlStrict(source: string): XmlElement {
  // End-of-line handling (XML 1.0 §2.11): every literal CR LF or CR is read as LF.
  const xml = source.replace(/\r\n?/g, '\n');
  const r = new Reader(xml);
  if (!CHAR.test(xml)) {
    r.i = [...xml].findIndex((c) => !CHAR.test(c));
    r.fail('a character XML 1.0 forbids');
  }
  if (r.starts('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) r.fail('unclosed XML declaration');
    if (!/^<\?xml version="1\.[0-9]"( encoding="[A-Za-z][A-Za-z0-9._-]*")?( standalone="(yes|no)")? ?\?>$/.test(xml.slice(0, end + 2))) {
      r.fail('malformed XML declaration');
    }
    r.i = end + 2;
  }
  misc(r);
  if (!r.starts('<')) r.fail('no root element');
  const root = element(r);
  misc(r);
  if (r.i !== xml.length) r.fail('content after the root element');
  return root;
}

/** The concatenated text of an element. */
export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string' && c.name === name);
}
