import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GoStruct, goJsonMarshal } from '@chartsync/sidecar/chart/dependencies';

test("Go's encoding/json: HTML-safe escapes, sorted map keys, struct order, omitempty", () => {
  assert.equal(goJsonMarshal('>= 1.2, < 2.0 & \u2028'), '"\\u003e= 1.2, \\u003c 2.0 \\u0026 \\u2028"');
  assert.equal(goJsonMarshal({ b: 1, a: [true, null], B: 2n }), '{"B":2,"a":[true,null],"b":1}');
  const s = new GoStruct([
    { key: 'name', value: 'x' },
    { key: 'version', value: '', omitEmpty: true },
    { key: 'repository', value: '' },
    { key: 'tags', value: [], omitEmpty: true },
    { key: 'enabled', value: false, omitEmpty: true },
    { key: 'alias', value: 'y', omitEmpty: true },
  ]);
  assert.equal(goJsonMarshal([s]), '[{"name":"x","repository":"","alias":"y"}]');
  assert.equal(goJsonMarshal('tab\there "q" \\'), '"tab\\there \\"q\\" \\\\"');
});
