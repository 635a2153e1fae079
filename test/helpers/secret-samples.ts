// Secrets for redaction tests: gitleaks' own literal samples (test/fixtures/redaction/gitleaks-cases.json), one made-up
// secret of each kind the README promises (random-looking, in each provider's format, valid nowhere), and the
// look-alikes that must stay as they are.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GitleaksCases {
  source: string;
  cases: Record<string, { tps: string[]; fps: string[] }>;
}

export function gitleaksCases(): GitleaksCases {
  return JSON.parse(
    readFileSync(join(import.meta.dirname, '../fixtures/redaction/gitleaks-cases.json'), 'utf8'),
  ) as GitleaksCases;
}

// a fixed pseudo-random generator, so every run uses the same made-up secrets
function generator(seed: number): (alphabet: string, length: number) => string {
  let state = (seed * 2654435761) >>> 0 || 1;
  return (alphabet, length) => {
    let out = '';
    for (let i = 0; i < length; i++) {
      // xorshift32: the low bits of a plain LCG repeat too soon for random-looking text
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      out += alphabet[state % alphabet.length];
    }
    return out;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const B64 = `${ALNUM}+/`;
const URLSAFE = `${ALNUM}_-`;
const HEXL = '0123456789abcdef';

export interface SecretSample {
  /** what the sample stands for (README wording) */
  kind: string;
  /** the line as it would appear in output */
  text: string;
  /** the raw secret that must never reach a file, the OTLP export or a log */
  secret: string;
  /** the rule id expected in the marker */
  rule: string;
}

/** One made-up secret of each kind, each in a line of the sort an agent prints. */
export function secretSamples(seed = 13): SecretSample[] {
  const r = generator(seed);
  const jwt = `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ${r(ALNUM, 40)}.${r(URLSAFE, 43)}`;
  const pemBody = Array.from({ length: 6 }, () => r(B64, 64)).join('\n');
  const sshBody = Array.from({ length: 5 }, () => r(B64, 70)).join('\n');
  const list: SecretSample[] = [];
  const add = (kind: string, rule: string, secret: string, text = secret) =>
    list.push({ kind, rule, secret, text });
  const ghp = `ghp_${r(ALNUM, 36)}`;
  add('GitHub classic token', 'github-pat', ghp, `export GH_TOKEN=${ghp}`);
  const fine = `github_pat_${r(ALNUM, 22)}_${r(ALNUM, 59)}`;
  add('GitHub fine-grained token', 'github-fine-grained-pat', fine, `token: ${fine}`);
  add('GitHub app token (ghs_)', 'github-app-token', `ghs_${r(ALNUM, 36)}`);
  add('GitHub app user token (ghu_)', 'github-app-token', `ghu_${r(ALNUM, 36)}`);
  const xoxb = `xoxb-${r('0123456789', 12)}-${r('0123456789', 13)}-${r(ALNUM, 24)}`;
  add('Slack bot token', 'slack-bot-token', xoxb, `SLACK_TOKEN="${xoxb}"`);
  const hook = `https://hooks.slack.com/services/T${r(UPPER32, 8)}/B${r(UPPER32, 10)}/${r(ALNUM, 24)}`;
  add('Slack webhook URL', 'slack-webhook-url', hook, `curl -X POST ${hook} -d '{}'`);
  const ant = `sk-ant-api03-${r(URLSAFE, 93)}AA`;
  add('Anthropic API key', 'anthropic-api-key', ant, `ANTHROPIC_API_KEY=${ant}`);
  const oai = `sk-proj-${r(URLSAFE, 74)}T3BlbkFJ${r(URLSAFE, 74)}`;
  add('OpenAI API key', 'openai-api-key', oai, `OPENAI_API_KEY=${oai}`);
  const akia = `AKIA${r(UPPER32, 16)}`;
  add('AWS access key id', 'aws-access-token', akia, `aws_access_key_id = ${akia}`);
  const awsSecret = r(`${ALNUM}/+`, 40);
  add('AWS secret access key', 'aws-secret-access-key', awsSecret, `aws_secret_access_key = ${awsSecret}`);
  const gcp = `AIza${r(URLSAFE, 35)}`;
  add('Google API key', 'gcp-api-key', gcp, `"apiKey": "${gcp}"`);
  const atl = `ATATT3${r(URLSAFE, 186)}`;
  add('Atlassian API token', 'atlassian-api-token', atl, `JIRA_API_TOKEN=${atl} `);
  const stripe = `sk_live_${r(ALNUM, 32)}`;
  add('Stripe secret key', 'stripe-access-token', stripe, `stripe.api_key = "${stripe}"`);
  const pem = `-----BEGIN RSA PRIVATE KEY-----\n${pemBody}\n-----END RSA PRIVATE KEY-----`;
  add('PEM private key block', 'private-key', pem, `cat id_rsa.pem\n${pem}\n`);
  const ssh = `-----BEGIN OPENSSH PRIVATE KEY-----\n${sshBody}\n-----END OPENSSH PRIVATE KEY-----`;
  add('OpenSSH private key block', 'private-key', ssh);
  add('JWT', 'jwt', jwt, `session=${jwt};`);
  const bearer = r(URLSAFE, 40);
  add(
    'Bearer credential in an Authorization header',
    'authorization-header',
    bearer,
    `Authorization: Bearer ${bearer}`,
  );
  const basic = Buffer.from(`deploy:${r(ALNUM, 20)}`).toString('base64');
  add(
    'Basic credential in an Authorization header',
    'authorization-header',
    basic,
    `-H 'Authorization: Basic ${basic}'`,
  );
  const urlToken = r(ALNUM, 32);
  add(
    'credential in a URL',
    'url-credentials',
    urlToken,
    `origin https://deploy:${urlToken}@git.example.com/org/repo.git (fetch)`,
  );
  const dbPassword = r(ALNUM, 18);
  add(
    'database connection string with a password',
    'url-credentials',
    dbPassword,
    `DATABASE_URL=postgres://app:${dbPassword}@db.internal:5432/app`,
  );
  return list;
}

/** This server's own secrets (set as settings), and a line that quotes each. */
export function configuredSecrets(seed = 7): Record<string, string> {
  const r = generator(seed);
  return {
    GITHUB_WEBHOOK_SECRET: `whsec-${r(HEXL, 24)}`,
    SLACK_SIGNING_SECRET: r(HEXL, 32),
    SLACK_BOT_TOKEN: `xoxb-${r('0123456789', 11)}-${r('0123456789', 12)}-${r(ALNUM, 24)}`,
    JIRA_WEBHOOK_SECRET: `jira-${r(ALNUM, 20)}`,
    JIRA_API_TOKEN: r(ALNUM, 24),
    TASK_LOGS_API_TOKEN: `tl-${r(ALNUM, 30)}`,
  };
}

/** Look-alikes that are not secrets and must come through untouched. */
export function lookAlikes(seed = 21): string[] {
  const r = generator(seed);
  return [
    `commit ${r(HEXL, 40)}`,
    `Merge: ${r(HEXL, 7)} ${r(HEXL, 7)}`,
    `request id ${r(HEXL, 8)}-${r(HEXL, 4)}-4${r(HEXL, 3)}-a${r(HEXL, 3)}-${r(HEXL, 12)}`,
    `sha256:${r(HEXL, 64)}`,
    `md5 ${r(HEXL, 32)}  package.tgz`,
    `![diagram](data:image/png;base64,iVBORw0KGgo${r(B64, 400)}==)`,
    `trace ${r(HEXL, 32)} span ${r(HEXL, 16)}`,
    'The retry loop uses a fixed delay of one second between attempts; the key insight is the token bucket.',
    'password reset emails now expire after 24 hours (see auth/reset.ts)',
    `integrity "sha512-${r(B64, 86)}=="`,
  ];
}
