/** A plain HTML page listing the routes of the OpenAPI document (no browser bundle needed). */
import type { OpenApiDoc } from './server';

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

export function docsPage(doc: OpenApiDoc): string {
  const rows: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters ?? []).map((p) => `<code>${esc(p.name)}</code> (${esc(p.in)}${p.required === true ? ', required' : ''}${p.schema?.description !== undefined ? `: ${esc(p.schema.description)}` : ''})`).join('<br>');
      rows.push(`<tr><td><b>${esc(method.toUpperCase())}</b> <code>${esc(path)}</code></td><td>${esc(op.summary ?? '')}</td><td>${params}</td></tr>`);
    }
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(doc.info?.title ?? 'API')}</title>
<style>body{font-family:sans-serif;margin:2em}td{border-top:1px solid #ccc;padding:.4em;vertical-align:top}</style></head><body>
<h1>${esc(doc.info?.title ?? 'API')}</h1><p>${esc(doc.info?.description ?? '')}</p>
<p>Every route except <code>/api/v1/health</code> (and this page and <a href="openapi.json">openapi.json</a>) needs <code>Authorization: Bearer TOKEN</code>.</p>
<table>${rows.join('\n')}</table></body></html>`;
}
