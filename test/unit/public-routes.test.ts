import { describe, expect, it } from 'vitest';
import { isPublicRoute } from '../../src/http/public-routes.ts';

describe('isPublicRoute', () => {
  it.each([
    ['GET', '/healthz'],
    ['HEAD', '/healthz'],
    ['POST', '/webhooks/github'],
    ['POST', '/webhooks/slack'],
    ['POST', '/webhooks/jira'],
    ['GET', '/'],
    ['GET', '/assets/app.js'],
    ['GET', '/assets/vendor/uplot.min.css'],
  ])('lets %s %s through without the token', (method, path) => {
    expect(isPublicRoute(method, path)).toBe(true);
  });

  it.each([
    // the API and the ingest, in every spelling
    ['GET', '/api/tasks'],
    ['GET', '/API/tasks'],
    ['POST', '/v1/logs'],
    ['POST', '/V1/logs'],
    ['GET', '/api/webhooks/rejections'],
    // other spellings of public routes are not public
    ['GET', '/healthz/'],
    ['GET', '/Healthz'],
    ['GET', '/HEALTHZ'],
    ['GET', '//healthz'],
    ['GET', '/%68ealthz'],
    ['GET', '/./healthz'],
    ['GET', '/healthz/..'],
    ['GET', '/healthz/../api/tasks'],
    ['GET', '/healthz/%2e%2e/api/tasks'],
    ['GET', '/healthz%2f..%2fapi%2ftasks'],
    ['GET', '/healthz;x'],
    ['GET', '/healthz\u0000'],
    ['POST', '/webhooks/github/'],
    ['POST', '/webhooks/GitHub'],
    ['POST', '/webhooks//github'],
    ['POST', '/webhooks/github/../../v1/logs'],
    ['POST', '/webhooks/%67ithub'],
    ['POST', '/webhooks/jira%2f..%2f..%2fv1%2flogs'],
    // public paths under another method
    ['POST', '/healthz'],
    ['PUT', '/healthz'],
    ['DELETE', '/healthz'],
    ['TRACE', '/healthz'],
    ['OPTIONS', '/healthz'],
    ['GET', '/webhooks/github'],
    ['HEAD', '/webhooks/github'],
    ['PROPFIND', '/webhooks/github'],
    ['POST', '/'],
    ['get', '/healthz'],
    // static files: no dots, encodings, hidden files or deep paths
    ['GET', '/assets'],
    ['GET', '/assets/'],
    ['GET', '/assets/../api/tasks'],
    ['GET', '/assets/..'],
    ['GET', '/assets/.'],
    ['GET', '/assets/..%2f..%2fapi%2ftasks'],
    ['GET', '/assets/%2e%2e/api/tasks'],
    ['GET', '/assets/.env'],
    ['GET', '/assets/a\\..\\b'],
    ['GET', '/assets//app.js'],
    ['GET', '/assets/app.js/'],
    ['GET', '/assets/a/b/c/d/e.js'],
    ['GET', '/ASSETS/app.js'],
    ['POST', '/assets/app.js'],
    // anything else
    ['GET', ''],
    ['GET', '*'],
    ['GET', 'http://example.com/healthz'],
    ['GET', '/dashboard'],
    ['GET', '/tasks/task-abc'],
  ])('needs the token for %s %s', (method, path) => {
    expect(isPublicRoute(method, path)).toBe(false);
  });
});
