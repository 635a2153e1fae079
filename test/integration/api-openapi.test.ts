import { describe, expect, it } from 'vitest';
import { getJson, testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe('GET /api/openapi.json', () => {
  it('describes every route and parameter, from the same schemas that validate requests', async () => {
    const server = await testServer(await tempLogsDir());
    const { status, body } = await getJson(`${server.url}/api/openapi.json`);
    expect(status).toBe(200);
    const doc = body as {
      openapi: string;
      paths: Record<
        string,
        { get: { parameters?: { name: string; in: string; schema: Record<string, unknown> }[] } }
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/healthz',
        '/api/tasks',
        '/api/tasks/counts',
        '/api/tasks/aggregate',
        '/api/dashboard/settings',
        '/api/tasks/{task_id}/logs/metadata',
        '/api/tasks/{task_id}/logs/input',
        '/api/tasks/{task_id}/logs/webhook-flow',
        '/api/tasks/{task_id}/logs/agent-output',
        '/api/tasks/{task_id}/logs/agent-output/stream',
        '/api/tasks/{task_id}/logs/final-result',
        '/api/tasks/{task_id}/logs/full',
        '/api/webhooks/rejections',
        '/webhooks/github',
        '/webhooks/slack',
        '/webhooks/jira',
        '/v1/traces',
        '/v1/logs',
      ].sort(),
    );
    const search = doc.paths['/api/tasks']!.get.parameters!;
    expect(search.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'status',
        'provider',
        'source',
        'agent',
        'model',
        'success',
        'created_after',
        'min_cost',
        'max_tokens',
        'sort',
        'limit',
        'cursor',
      ]),
    );
    expect(search.find((p) => p.name === 'limit')!.schema).toMatchObject({ maximum: 1000 });
    expect(search.find((p) => p.name === 'sort')!.schema).toMatchObject({
      enum: expect.arrayContaining(['created_at', 'cost_usd']),
    });
    const lines = doc.paths['/api/tasks/{task_id}/logs/agent-output']!.get.parameters!;
    expect(lines.map((p) => `${p.in}:${p.name}`)).toEqual([
      'path:task_id',
      'query:format',
      'query:after',
      'query:limit',
    ]);
  });
});
