/**
 * Markup that is safe by construction: the `html` tagged template escapes every interpolated
 * value unless it is already `SafeHtml` (built by `html` itself, or by `raw`, the one named
 * opt-out for markup a function of ours produced). A client name, Meta's error text or a query
 * string can only ever land in a page as text.
 */
export class SafeHtml {
  constructor(private readonly markup: string) {}

  toString(): string {
    return this.markup;
  }
}

/** What a template may interpolate: markup, text, numbers, lists of them; `null`, `undefined` and `false` render nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an element's content or a quoted attribute. */
export const escapeHtml = (text: unknown): string => String(text ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.toString();
  if (value === null || value === undefined || value === false || value === true) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  // A number has nothing to escape (the overview interpolates ~20,000 of them).
  if (typeof value === 'number') return String(value);
  return escapeHtml(value);
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0];
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1];
  });
  return new SafeHtml(out);
}

/** Markup trusted as is: only for text this code wrote (a style sheet, a fixed fragment), never for input. */
export const raw = (markup: string): SafeHtml => new SafeHtml(markup);

/** Items joined by a separator, each escaped unless it is markup. */
export const join = (items: readonly HtmlValue[], separator: HtmlValue): SafeHtml =>
  new SafeHtml(items.map(render).join(render(separator)));
