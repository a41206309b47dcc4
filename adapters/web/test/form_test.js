#!/usr/bin/env node
// The console's form checks (adapters/web/console/form.js) without a
// browser: what each field kind accepts and refuses, the messages, and the
// JSON written (numbers exactly as typed). Run by ctest (adapters.web_form).
'use strict';

const assert = require('assert');
const path = require('path');
const TreatyForm = require(path.join(__dirname, '../../web/console/form.js'));

// A handle as build() makes it, with plain objects for the inputs.
function handle(schema, values) {
  const required = new Set(schema.required || []);
  return {
    fields: Object.entries(schema.properties).map(([name, fs]) => {
      const kind = TreatyForm.kindOf(fs, required.has(name));
      const v = values[name];
      const input = kind === 'checkbox' ? { type: 'checkbox', checked: Boolean(v) } : { type: 'text', value: v === undefined ? '' : v };
      return { name, schema: fs, required: required.has(name), kind, input };
    }),
  };
}

const schema = {
  type: 'object',
  required: ['amount', 'currency', 'lines', 'note', 'urgent'],
  properties: {
    amount: { type: 'integer', minimum: 1, maximum: 1000000 },
    rate: { type: 'number', minimum: 0 },
    currency: { type: 'string', enum: ['EUR', 'USD'] },
    note: { type: 'string', minLength: 1, maxLength: 5, pattern: '^[a-z]+$' },
    urgent: { type: 'boolean' },
    lines: { type: 'array', minItems: 1, items: { type: 'object', required: ['sku'], additionalProperties: false,
      properties: { sku: { type: 'string', minLength: 1 }, qty: { type: 'integer', minimum: 1 } } } },
    extra: { type: 'boolean' },
  },
};

let n = 0;
function test(name, fn) { fn(); n += 1; console.log('ok - ' + name); }

test('a good input is written as JSON, numbers as typed, optional empties left out', () => {
  const r = TreatyForm.read(handle(schema, {
    amount: '+12', rate: '0.10', currency: '"EUR"', note: 'abc', urgent: true, lines: '[{"sku":"A","qty":2}]',
  }));
  assert.deepStrictEqual(r.errors, {});
  assert.strictEqual(r.json, '{"amount":12,"rate":0.10,"currency":"EUR","note":"abc","urgent":true,"lines":[{"sku":"A","qty":2}]}');
});

test('each bad value gets its own message and no JSON', () => {
  const r = TreatyForm.read(handle(schema, {
    amount: 'twelve', rate: '1,5', currency: '', note: 'ABCDEFG', lines: '[{"qty":0,"x":1}]', extra: '',
  }));
  assert.strictEqual(r.json, null);
  assert.deepStrictEqual(r.errors, {
    amount: 'must be a whole number',
    rate: 'must be a number',
    currency: 'is required: choose one',
    note: 'must be at most 5 characters (is 7)',
    lines: '[0]: sku is required; [0].qty: must be at least 1; [0]: unknown field x',
  });
});

test('bounds, big integers exactly, patterns, empty required text', () => {
  const one = (values) => TreatyForm.read(handle(schema, Object.assign({ amount: '5', currency: '"USD"', note: 'ok', lines: '[{"sku":"A"}]' }, values)));
  assert.strictEqual(one({ amount: '0' }).errors.amount, 'must be at least 1');
  assert.strictEqual(one({ amount: '1000001' }).errors.amount, 'must be at most 1000000');
  assert.strictEqual(one({ amount: '99999999999999999999' }).errors.amount, 'must be at most 1000000');
  assert.strictEqual(one({ rate: '-0.5' }).errors.rate, 'must be at least 0');
  assert.strictEqual(one({ note: 'a1' }).errors.note, 'must match ^[a-z]+$');
  assert.strictEqual(one({ note: '' }).errors.note, 'is required');
  assert.strictEqual(one({ lines: '[' }).errors.lines.startsWith('is not valid JSON'), true);
  assert.strictEqual(one({ lines: '[]' }).errors.lines, 'must have at least 1 item');
  assert.strictEqual(one({ lines: '{}' }).errors.lines, 'must be a list [ ... ]');
  const big = TreatyForm.read(handle({ type: 'object', properties: { n: { type: 'integer' } } }, { n: '123456789012345678901' }));
  assert.strictEqual(big.json, '{"n":123456789012345678901}');
});

test('field kinds follow the schema', () => {
  assert.strictEqual(TreatyForm.kindOf({ type: 'boolean' }, true), 'checkbox');
  assert.strictEqual(TreatyForm.kindOf({ type: 'boolean' }, false), 'tristate');
  assert.strictEqual(TreatyForm.kindOf({ type: 'string', enum: ['a'] }, false), 'enum');
  assert.strictEqual(TreatyForm.kindOf({ type: 'object' }, false), 'json');
  assert.strictEqual(TreatyForm.kindOf({}, false), 'json');
});

console.log(`${n} checks passed`);
