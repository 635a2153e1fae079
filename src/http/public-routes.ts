// The one place that decides which requests need no bearer token. Everything else needs it when one is set.
// Matched on the raw request path, byte for byte: no other spelling (case, repeated or trailing slashes,
// percent-encoding, dot segments) of a private route can look public; another spelling of a public route just
// needs the token, and the strict, case-sensitive routers then answer 404 for it.

export interface PublicRoute {
  readonly methods: readonly string[];
  /** an exact path, or a pattern for a family of static files */
  readonly path: string | RegExp;
  readonly why: string;
}

// one path segment of a static file: no dot segments, no percent-encoding, no backslash, no hidden files
const SEGMENT = '[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}';

const PUBLIC_ROUTES: readonly PublicRoute[] = [
  { methods: ['GET', 'HEAD'], path: '/healthz', why: 'liveness for load balancers; no data' },
  { methods: ['POST'], path: '/webhooks/github', why: 'checks its own signature' },
  { methods: ['POST'], path: '/webhooks/slack', why: 'checks its own signature' },
  { methods: ['POST'], path: '/webhooks/jira', why: 'checks its own signature' },
  { methods: ['GET', 'HEAD'], path: '/', why: "the dashboard's page shell; its data comes from /api" },
  {
    methods: ['GET', 'HEAD'],
    path: new RegExp(`^/assets(?:/${SEGMENT}){1,4}$`),
    why: "the dashboard's scripts and styles; no task data",
  },
];

/** True when this method and raw path (no query string) may be served without the bearer token. */
export function isPublicRoute(method: string, rawPath: string): boolean {
  return PUBLIC_ROUTES.some(
    (route) =>
      route.methods.includes(method) &&
      (typeof route.path === 'string' ? route.path === rawPath : route.path.test(rawPath)),
  );
}
