// TreatyForm: a task's completion form, generated from the step's input
// JSON Schema (GetTaskResponse.input_schema_json: an object whose
// properties are strings, integers, numbers, booleans, arrays or objects,
// with required, enum, minimum/maximum, minLength/maxLength,
// minItems/maxItems and pattern) and the definition's form texts
// (form_json: {title, description, fields: {name: {label, help,
// placeholder}}}, docs/definitions.md "Human tasks").
//
// read() checks every field in the browser before anything is proposed and
// writes the input as JSON text, numbers exactly as typed (a decimal such
// as 12.50 or an integer beyond 2^53 must reach the node unrounded, so
// they are never passed through a JavaScript number). The node checks the
// input again; this check only saves a round trip and puts the message
// next to the field.
//
// Plain browser JavaScript; also loadable by Node (module.exports) so the
// validation can be tested without a browser.
(function (global) {
  'use strict';

  const INTEGER = /^[+-]?\d+$/;
  const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

  function typeOf(schema) {
    return schema && typeof schema.type === 'string' ? schema.type : 'any';
  }

  // How a field is edited: a select for enums and optional booleans, a
  // checkbox for required booleans, a text box for scalars, JSON text for
  // arrays, objects and untyped fields.
  function kindOf(schema, required) {
    if (Array.isArray(schema.enum) && schema.enum.length) return 'enum';
    switch (typeOf(schema)) {
      case 'boolean': return required ? 'checkbox' : 'tristate';
      case 'integer': return 'integer';
      case 'number': return 'number';
      case 'string': return 'string';
      default: return 'json';
    }
  }

  // A skeleton of a JSON value, shown as the placeholder of a JSON field.
  function example(schema, depth) {
    depth = depth || 0;
    if (depth > 3) return null;
    if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
    switch (typeOf(schema)) {
      case 'string': return '';
      case 'integer': return 0;
      case 'number': return 0.0;
      case 'boolean': return false;
      case 'array': return [example(schema.items || {}, depth + 1)];
      case 'object': {
        const o = {};
        for (const [k, v] of Object.entries(schema.properties || {})) o[k] = example(v, depth + 1);
        return o;
      }
      default: return null;
    }
  }

  function codePoints(s) { return Array.from(s).length; }

  // Compares a typed number with a schema bound. Integers compare exactly
  // (BigInt) when the bound is an integer too.
  function compare(text, bound) {
    if (INTEGER.test(text) && Number.isInteger(bound)) {
      const a = BigInt(text), b = BigInt(bound);
      return a < b ? -1 : a > b ? 1 : 0;
    }
    const a = Number(text);
    return a < bound ? -1 : a > bound ? 1 : 0;
  }

  function boundsError(text, schema) {
    if (typeof schema.minimum === 'number' && compare(text, schema.minimum) < 0) return `must be at least ${schema.minimum}`;
    if (typeof schema.maximum === 'number' && compare(text, schema.maximum) > 0) return `must be at most ${schema.maximum}`;
    return null;
  }

  function stringError(s, schema) {
    if (typeof schema.minLength === 'number' && codePoints(s) < schema.minLength)
      return schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters`;
    if (typeof schema.maxLength === 'number' && codePoints(s) > schema.maxLength)
      return `must be at most ${schema.maxLength} characters (is ${codePoints(s)})`;
    if (typeof schema.pattern === 'string') {
      let re = null;
      try { re = new RegExp(schema.pattern, 'u'); } catch (e) { re = null; }
      if (re && !re.test(s)) return `must match ${schema.pattern}`;
    }
    return null;
  }

  function enumError(value, schema) {
    if (!Array.isArray(schema.enum) || !schema.enum.length) return null;
    const v = JSON.stringify(value);
    if (schema.enum.some((e) => JSON.stringify(e) === v)) return null;
    return 'must be one of ' + schema.enum.map((e) => JSON.stringify(e)).join(', ');
  }

  // Checks a parsed JSON value against a schema; returns messages, each
  // prefixed by the path inside the value ("[0].qty: must be at least 1").
  function validate(schema, value, path) {
    path = path || '';
    const at = (m) => (path ? path + ': ' : '') + m;
    const t = typeOf(schema);
    const errs = [];
    const e = enumError(value, schema);
    if (e) return [at(e)];
    switch (t) {
      case 'string':
        if (typeof value !== 'string') return [at('must be a string')];
        { const m = stringError(value, schema); if (m) errs.push(at(m)); }
        break;
      case 'integer':
        if (typeof value !== 'number' || !Number.isInteger(value)) return [at('must be a whole number')];
        { const m = boundsError(String(value), schema); if (m) errs.push(at(m)); }
        break;
      case 'number':
        if (typeof value !== 'number') return [at('must be a number')];
        { const m = boundsError(String(value), schema); if (m) errs.push(at(m)); }
        break;
      case 'boolean':
        if (typeof value !== 'boolean') return [at('must be true or false')];
        break;
      case 'array':
        if (!Array.isArray(value)) return [at('must be a list [ ... ]')];
        if (typeof schema.minItems === 'number' && value.length < schema.minItems)
          errs.push(at(`must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`));
        if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
          errs.push(at(`must have at most ${schema.maxItems} items`));
        if (schema.items) value.forEach((v, i) => errs.push(...validate(schema.items, v, `${path}[${i}]`)));
        break;
      case 'object': {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return [at('must be an object { ... }')];
        const props = schema.properties || {};
        for (const r of schema.required || [])
          if (!(r in value)) errs.push(at(`${r} is required`));
        for (const [k, v] of Object.entries(value)) {
          if (k in props) errs.push(...validate(props[k], v, path ? `${path}.${k}` : k));
          else if (schema.additionalProperties === false) errs.push(at(`unknown field ${k}`));
        }
        break;
      }
      default:
        break;
    }
    return errs;
  }

  function el(doc, tag, attrs, text) {
    const e = doc.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function parseTexts(formJson) {
    if (!formJson) return {};
    if (typeof formJson === 'object') return formJson;
    try { const t = JSON.parse(formJson); return t && typeof t === 'object' ? t : {}; } catch (e) { return {}; }
  }

  // Builds the fields into `container` (a <form>). Returns the handle read()
  // and showErrors() take.
  function build(container, schemaJson, formJson) {
    const doc = container.ownerDocument;
    let schema = {};
    try { schema = typeof schemaJson === 'string' ? JSON.parse(schemaJson || '{}') : (schemaJson || {}); } catch (e) { schema = {}; }
    const texts = parseTexts(formJson);
    const fieldTexts = texts.fields || {};
    const required = new Set(schema.required || []);
    const title = texts.title || schema.title;
    const description = texts.description || schema.description;
    if (title) container.appendChild(el(doc, 'h2', { 'data-test': 'form-title', id: 'form-title' }, title));
    if (description) container.appendChild(el(doc, 'p', { class: 'sub', 'data-test': 'form-description' }, description));
    const fields = [];
    for (const [name, fs] of Object.entries(schema.properties || {})) {
      const ft = fieldTexts[name] || {};
      const req = required.has(name);
      const kind = kindOf(fs, req);
      const id = 'field-' + name;
      const box = el(doc, 'div', { class: 'field', 'data-field': name, 'data-kind': kind });
      const label = el(doc, 'label', { for: id }, ft.label || fs.title || name);
      if (req) label.appendChild(el(doc, 'span', { class: 'required-mark', title: 'required' }, ' *'));
      box.appendChild(label);
      let input;
      const common = { id, name, 'data-test': 'field-' + name, 'aria-describedby': 'error-' + name };
      if (kind === 'enum') {
        input = el(doc, 'select', common);
        if (!req) input.appendChild(el(doc, 'option', { value: '' }, '—'));
        for (const v of fs.enum) input.appendChild(el(doc, 'option', { value: JSON.stringify(v) }, String(v)));
      } else if (kind === 'checkbox') {
        input = el(doc, 'input', Object.assign({ type: 'checkbox' }, common));
      } else if (kind === 'tristate') {
        input = el(doc, 'select', common);
        input.appendChild(el(doc, 'option', { value: '' }, '—'));
        input.appendChild(el(doc, 'option', { value: 'true' }, 'yes'));
        input.appendChild(el(doc, 'option', { value: 'false' }, 'no'));
      } else if (kind === 'json') {
        input = el(doc, 'textarea', Object.assign({ placeholder: ft.placeholder || JSON.stringify(example(fs)), spellcheck: 'false' }, common));
      } else if (kind === 'string' && typeof fs.maxLength === 'number' && fs.maxLength > 200) {
        input = el(doc, 'textarea', Object.assign({ placeholder: ft.placeholder }, common));
      } else {
        const attrs = Object.assign({ type: 'text', autocomplete: 'off', placeholder: ft.placeholder }, common);
        if (kind === 'integer') attrs.inputmode = 'numeric';
        if (kind === 'number') attrs.inputmode = 'decimal';
        input = el(doc, 'input', attrs);
      }
      box.appendChild(input);
      const help = ft.help || fs.description;
      const hints = [];
      if (typeof fs.minimum === 'number') hints.push('≥ ' + fs.minimum);
      if (typeof fs.maximum === 'number') hints.push('≤ ' + fs.maximum);
      if (typeof fs.maxLength === 'number') hints.push('at most ' + fs.maxLength + ' characters');
      if (kind === 'json') hints.push('JSON');
      if (help || hints.length) box.appendChild(el(doc, 'div', { class: 'help' }, [help, hints.join(', ')].filter(Boolean).join(' — ')));
      box.appendChild(el(doc, 'div', { class: 'field-error', id: 'error-' + name, 'data-test': 'field-error', 'data-field': name, role: 'alert' }));
      container.appendChild(box);
      fields.push({ name, schema: fs, required: req, kind, input, box });
    }
    return { schema, texts, fields };
  }

  // Reads one field: {skip} when empty and optional, else {raw: JSON text}
  // or {error}.
  function readField(f) {
    const s = f.schema;
    const v = f.input.type === 'checkbox' ? null : f.input.value;
    switch (f.kind) {
      case 'checkbox': return { raw: f.input.checked ? 'true' : 'false' };
      case 'tristate':
      case 'enum':
        if (v === '') return f.required ? { error: 'is required: choose one' } : { skip: true };
        return { raw: v };
      case 'integer': {
        const t = v.trim();
        if (t === '') return f.required ? { error: 'is required' } : { skip: true };
        if (!INTEGER.test(t)) return { error: 'must be a whole number' };
        const b = boundsError(t, s);
        return b ? { error: b } : { raw: t.replace(/^\+/, '') };
      }
      case 'number': {
        const t = v.trim();
        if (t === '') return f.required ? { error: 'is required' } : { skip: true };
        if (!NUMBER.test(t)) return { error: 'must be a number' };
        const b = boundsError(t, s);
        if (b) return { error: b };
        // JSON wants a digit on both sides of the point.
        let n = t.replace(/^\+/, '').replace(/^(-?)\./, '$10.').replace(/\.(?=$|[eE])/, '');
        return { raw: n };
      }
      case 'string': {
        if (v === '' && !f.required) return { skip: true };
        if (v === '' && f.required && !(typeof s.minLength === 'number' && s.minLength === 0)) return { error: 'is required' };
        const m = stringError(v, s);
        return m ? { error: m } : { raw: JSON.stringify(v) };
      }
      default: {
        const t = v.trim();
        if (t === '') return f.required ? { error: 'is required' } : { skip: true };
        let parsed;
        try { parsed = JSON.parse(t); } catch (e) { return { error: 'is not valid JSON: ' + e.message }; }
        const errs = validate(s, parsed, '');
        return errs.length ? { error: errs.join('; ') } : { raw: JSON.stringify(parsed) };
      }
    }
  }

  // Checks every field. Returns {errors: {name: message}, json: text|null};
  // json is set only when there are no errors.
  function read(handle) {
    const errors = {};
    const parts = [];
    for (const f of handle.fields) {
      const r = readField(f);
      if (r.error) errors[f.name] = r.error;
      else if (!r.skip) parts.push(JSON.stringify(f.name) + ':' + r.raw);
    }
    if (Object.keys(errors).length) return { errors, json: null };
    return { errors, json: '{' + parts.join(',') + '}' };
  }

  // Shows messages next to their fields and clears the others.
  function showErrors(handle, errors) {
    let first = null;
    for (const f of handle.fields) {
      const msg = errors[f.name] || '';
      const box = f.box.querySelector('.field-error');
      box.textContent = msg;
      f.box.classList.toggle('invalid', Boolean(msg));
      if (msg) f.input.setAttribute('aria-invalid', 'true'); else f.input.removeAttribute('aria-invalid');
      if (msg && !first) first = f.input;
    }
    if (first) first.focus();
  }

  const api = { build, read, showErrors, validate, kindOf };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  else global.TreatyForm = api;
})(typeof window !== 'undefined' ? window : globalThis);
