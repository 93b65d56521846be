/**
 * values.schema.json: wrong values are refused by the real helm client before anything renders,
 * with a message that names the offending field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chartDir, helm } from './helm.ts';

interface Case {
  why: string;
  args: string[];
  /** The field path helm names ("/a/b") and what it says about it. */
  field: string;
  message: RegExp;
}

const cases: Case[] = [
  {
    why: 'replicaCount not an integer',
    args: ['--set', 'replicaCount=two'],
    field: '/replicaCount',
    message: /want integer/,
  },
  {
    why: 'negative replicaCount',
    args: ['--set', 'replicaCount=-1'],
    field: '/replicaCount',
    message: /minimum/,
  },
  {
    why: 'operator.enabled not a boolean',
    args: ['--set', 'operator.enabled=yes'],
    field: '/operator/enabled',
    message: /want boolean/,
  },
  {
    why: 'unknown pull policy',
    args: ['--set', 'image.pullPolicy=Sometimes'],
    field: '/image/pullPolicy',
    message: /must be one of 'Always', 'IfNotPresent', 'Never'/,
  },
  {
    why: 'unknown service type',
    args: ['--set', 'service.type=Ingress'],
    field: '/service/type',
    message: /must be one of/,
  },
  {
    why: 'port out of range',
    args: ['--set', 'service.externalPort=70000'],
    field: '/service/externalPort',
    message: /maximum/,
  },
  {
    why: 'sidecar port not a number',
    args: ['--set', 'sidecar.port=sync'],
    field: '/sidecar/port',
    message: /want integer/,
  },
  {
    why: 'unknown STORAGE backend',
    args: ['--set', 'env.open.STORAGE=s3'],
    field: '/env/open/STORAGE',
    message: /must be one of 'local', 'amazon'/,
  },
  {
    why: 'env.open value that is an object',
    args: ['--set-json', 'env.open.CHART_URL={"a":1}'],
    field: '/env/open/CHART_URL',
    message: /got object/,
  },
  {
    why: 'misspelt top-level key',
    args: ['--set', 'operater.enabled=true'],
    field: '',
    message: /additional properties 'operater' not allowed/,
  },
  {
    why: 'misspelt nested key',
    args: ['--set', 'persistence.enable=true'],
    field: '/persistence',
    message: /additional properties 'enable' not allowed/,
  },
  {
    why: 'bad PVC size',
    args: ['--set', 'persistence.size=lots'],
    field: '/persistence/size',
    message: /does not match pattern/,
  },
  {
    why: 'relative mount path',
    args: ['--set', 'persistence.path=storage'],
    field: '/persistence/path',
    message: /does not match pattern/,
  },
  {
    why: 'unknown access mode',
    args: ['--set', 'persistence.accessMode=ReadWriteSometimes'],
    field: '/persistence/accessMode',
    message: /must be one of/,
  },
  {
    why: 'ingress host without name',
    args: ['--set', 'ingress.hosts[0].path=/'],
    field: '/ingress/hosts/0',
    message: /missing property 'name'/,
  },
  {
    why: 'watch namespace not a DNS label',
    args: ['--set', 'operator.watchNamespace=Team_A'],
    field: '/operator/watchNamespace',
    message: /does not match pattern/,
  },
  {
    why: 'unknown log level',
    args: ['--set', 'sidecar.logLevel=loud'],
    field: '/sidecar/logLevel',
    message: /must be one of/,
  },
  {
    why: 'chartmuseumUrl without a scheme',
    args: ['--set', 'operator.chartmuseumUrl=charts.example.com'],
    field: '/operator/chartmuseumUrl',
    message: /does not match pattern/,
  },
  {
    why: 'empty image repository',
    args: ['--set', 'sidecar.image.repository='],
    field: '/sidecar/image/repository',
    message: /minLength/,
  },
  {
    why: 'labels with a non-string value',
    args: ['--set-json', 'commonLabels={"team":{"a":1}}'],
    field: '/commonLabels/team',
    message: /got object, want string/,
  },
  {
    why: 'env.field with a non-string path',
    args: ['--set-json', 'env.field={"POD_IP":1}'],
    field: '/env/field/POD_IP',
    message: /want string/,
  },
];

describe('values.schema.json refuses wrong values, naming the field', () => {
  for (const c of cases) {
    test(c.why, async () => {
      const r = await helm(['template', 'rel', chartDir, ...c.args]);
      assert.notEqual(r.code, 0, `helm accepted ${c.args.join(' ')}`);
      assert.match(r.stderr, /values don't meet the specifications of the schema/);
      const line = r.stderr.split('\n').find((l) => l.includes(`at '${c.field}'`));
      assert.ok(line, `no error at '${c.field}' in:\n${r.stderr}`);
      assert.match(line, c.message);
    });
  }

  test('the same values pass when correct (the schema is not simply refusing everything)', async () => {
    const r = await helm([
      'template',
      'rel',
      chartDir,
      '--set',
      'replicaCount=2',
      '--set',
      'operator.enabled=true',
      '--set',
      'image.pullPolicy=Always',
      '--set',
      'service.type=NodePort',
      '--set',
      'env.open.STORAGE=google',
      '--set',
      'persistence.size=10Gi',
      '--set',
      'persistence.accessMode=ReadWriteMany',
      '--set',
      'operator.watchNamespace=team-a',
      '--set',
      'operator.chartmuseumUrl=https://charts.example.com',
      '--set',
      'env.open.CUSTOM_FLAG=1',
    ]);
    assert.equal(r.code, 0, r.stderr);
  });
});
