/** HTML-escapes text for element content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Template tag: interpolations are escaped unless they are markup fragments themselves (not named `html`, so that Prettier leaves the markup alone). */
export function markup(strings: TemplateStringsArray, ...values: unknown[]): RawHtml {
  let out = strings[0];
  values.forEach((value, i) => {
    out += renderValue(value) + strings[i + 1];
  });
  return new RawHtml(out);
}

export class RawHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

function renderValue(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof RawHtml) return value.value;
  if (Array.isArray(value)) return value.map(renderValue).join('');
  return escapeHtml(value);
}

const STYLE = `
  :root { color-scheme: light; --accent: #005cb8; --error: #b42318; --muted: #5f6b7a; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1f36; background: #f6f8fa; }
  main { max-width: 960px; margin: 0 auto; padding: 24px 16px 48px; }
  a { color: var(--accent); }
  h1 { font-size: 1.5rem; margin: 0 0 4px; }
  h2 { font-size: 1.1rem; margin: 24px 0 8px; }
  .muted { color: var(--muted); }
  .badge { display: inline-block; padding: 0 8px; border-radius: 10px; background: #fff3cd; font-size: .8rem; }
  .checkout { display: grid; gap: 32px; grid-template-columns: 1fr 1fr; }
  @media (max-width: 760px) { .checkout { grid-template-columns: 1fr; } }
  .panel { background: #fff; border: 1px solid #e3e8ee; border-radius: 8px; padding: 20px; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e3e8ee; vertical-align: top; }
  td.num, th.num { text-align: right; white-space: nowrap; }
  .total { font-size: 2rem; font-weight: 600; margin: 4px 0 16px; }
  form label { display: block; font-weight: 500; margin: 12px 0 4px; }
  input[type=text], input[type=email] { width: 100%; padding: 10px; border: 1px solid #c4cdd5; border-radius: 6px; font: inherit; }
  input[aria-invalid=true] { border-color: var(--error); }
  fieldset { border: 1px solid #e3e8ee; border-radius: 6px; margin: 16px 0 0; padding: 8px 12px 12px; }
  legend { font-weight: 600; padding: 0 4px; }
  .choice label { display: inline-flex; gap: 6px; margin-right: 16px; font-weight: 400; }
  /* Only the fields of the chosen payment method (without :has support, both show and still work). */
  form:has(input[name=method][value=card]:checked) .method-bank,
  form:has(input[name=method][value=us_bank_account]:checked) .method-card { display: none; }
  .row { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
  button { margin-top: 20px; width: 100%; padding: 12px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; font: 600 1rem system-ui, sans-serif; cursor: pointer; }
  button:focus-visible, a:focus-visible, input:focus-visible { outline: 3px solid #80bdff; outline-offset: 1px; }
  .alert { margin: 16px 0 0; padding: 12px; border-radius: 6px; background: #fef3f2; color: var(--error); border: 1px solid #fecdca; }
  .hint { font-size: .85rem; color: var(--muted); margin: 4px 0 0; }
  code { font-size: .85em; }
  .ok { color: #067647; } .bad { color: var(--error); }
`;

export function page(title: string, body: RawHtml): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body.value}
</main>
</body>
</html>
`;
}
