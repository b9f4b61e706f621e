// A small, strict XML reader for `virsh dumpxml` output: elements and attributes only (no DTDs, no entities
// beyond the five predefined and numeric ones). The helper bundle takes no XML dependency for one document type.

/** An element with its attributes, child elements and its own text (decoded, concatenated). */
export interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = '[A-Za-z_][A-Za-z0-9_.:-]*';
const TAG_RE = new RegExp(`^<(/?)(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)>`);
const ATTR_RE = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"<]*)"|'([^'<]*)')`, 'g');

/** Parses a document; throws with the offset on anything malformed (unbalanced tags, a DOCTYPE, bad entities). */
export function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: '#document', attrs: new Map(), children: [], text: '' };
  const stack: XmlElement[] = [root];
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const top = stack[stack.length - 1]!;
    if (lt < 0) {
      top.text += decode(text.slice(i), i);
      break;
    }
    top.text += decode(text.slice(i, lt), i);
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end < 0) throw new Error(`XML: unterminated comment at offset ${lt}`);
      i = end + 3;
      continue;
    }
    if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt + 2);
      if (end < 0) throw new Error(`XML: unterminated processing instruction at offset ${lt}`);
      i = end + 2;
      continue;
    }
    if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt);
      if (end < 0) throw new Error(`XML: unterminated CDATA at offset ${lt}`);
      i = end + 3;
      continue;
    }
    // A DOCTYPE could declare entities; libvirt never writes one, so refusing it keeps expansion out entirely.
    if (text.startsWith('<!', lt)) throw new Error(`XML: declarations are not accepted (offset ${lt})`);
    const m = TAG_RE.exec(text.slice(lt, lt + 64 * 1024));
    if (!m) throw new Error(`XML: malformed tag at offset ${lt}`);
    const [whole, closing, name, attrText, selfClosing] = m as unknown as [string, string, string, string, string];
    if (closing) {
      if (attrText || selfClosing || top.name !== name || stack.length === 1) throw new Error(`XML: unexpected </${name}> at offset ${lt}`);
      stack.pop();
    } else {
      const el: XmlElement = { name, attrs: new Map(), children: [], text: '' };
      for (const a of attrText.matchAll(ATTR_RE)) {
        if (el.attrs.has(a[1]!)) throw new Error(`XML: attribute ${a[1]} repeated at offset ${lt}`);
        el.attrs.set(a[1]!, decode(a[2] ?? a[3] ?? '', lt));
      }
      if (stack.length === 1 && root.children.length > 0) throw new Error(`XML: a second root element at offset ${lt}`);
      top.children.push(el);
      if (!selfClosing) stack.push(el);
    }
    i = lt + whole.length;
  }
  if (stack.length !== 1) throw new Error(`XML: <${stack[stack.length - 1]!.name}> is not closed`);
  const [doc] = root.children;
  if (!doc) throw new Error('XML: no root element');
  if (root.text.trim() !== '') throw new Error('XML: text outside the root element');
  return doc;
}

/** Child elements named `name`. */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** The first child named `name`, or undefined. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string, at: number): string {
  return s.replace(/&([^;&]*);|&/g, (all, body: string | undefined) => {
    if (body === undefined) throw new Error(`XML: bare & at offset ${at}`);
    if (body in ENTITIES) return ENTITIES[body]!;
    const num = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(body);
    const code = num ? parseInt(num[1] ?? num[2]!, num[1] ? 16 : 10) : NaN;
    if (!num || code > 0x10ffff || code === 0) throw new Error(`XML: unknown entity ${all} at offset ${at}`);
    return String.fromCodePoint(code);
  });
}
