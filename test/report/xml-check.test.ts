// The strict XML reader rejects what XML 1.0 forbids, so that the well-formedness tests can fail.
import { describe, expect, it } from 'vitest';
import { parseXmlStrict, textOf } from './xml-check.js';

// The checker must reject what a strict parser rejects, or the well-formedness tests prove nothing.
describe('parseXmlStrict', () => {
  it('reads a small document', () => {
    const el = parseXmlStrict('<?xml version="1.0" encoding="UTF-8"?>\n<a x="1 &amp; 2&#10;"><b/>t&lt;<![CDATA[<raw>]]></a>\n');
    expect(el.attrs).toEqual({ x: '1 & 2\n' });
    expect(textOf(el)).toBe('t<<raw>');
  });
  it.each([
    ['a bare &', '<a>x & y</a>'],
    ['an unknown entity', '<a>&nbsp;</a>'],
    ['< in an attribute', '<a x="<"/>'],
    ['an unquoted attribute', '<a x=1/>'],
    ['a duplicate attribute', '<a x="1" x="2"/>'],
    ['attributes without space', '<a x="1"y="2"/>'],
    ['mismatched tags', '<a><b></a></b>'],
    ['an unclosed element', '<a><b/>'],
    ['two roots', '<a/><b/>'],
    ['text after the root', '<a/>x'],
    ['a control character', '<a>\x01</a>'],
    ['a reference to a control character', '<a>&#1;</a>'],
    [']]> in text', '<a>]]></a>'],
    ['a lone surrogate', '<a>\ud800</a>'],
    ['a bad declaration', '<?xml version="2.0"?><a/>'],
  ])('rejects %s', (_name, doc) => {
    expect(() => parseXmlStrict(doc)).toThrow(/XML not well-formed at \d+:\d+/);
  });
});
