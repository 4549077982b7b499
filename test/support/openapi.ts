/**
 * Conformance harness: validates requests and responses against Fyno's published OpenAPI file
 * with a third-party validator (openapi-backend, which uses Ajv), never hand-written checks.
 *
 * The complete document has no operationIds (spec/fyno-api/README.md); we derive them as
 * `METHOD path`, e.g. `get /{WSID}/{version}/profiles/{distinct_id}`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import YAML from 'yaml';
import { OpenAPIBackend } from 'openapi-backend';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; its default export is the function under ESM interop.
const addFormats = addFormatsModule as unknown as (ajv: unknown) => unknown;

export const SPEC_FILE = fileURLToPath(
  new URL('../../spec/fyno-api/fyno-notification-events-openapi.yml', import.meta.url),
);

export interface Exchange {
  method: string;
  /** Path relative to the base URL's `/v1`, with query string, e.g. `/FY1/live/subscriptions/preference?distinct_id=a`. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  status: number;
  responseBody: unknown;
}

export interface ConformanceResult {
  operationId: string | undefined;
  requestErrors: string[];
  responseErrors: string[];
}

type Backend = InstanceType<typeof OpenAPIBackend>;
let backendPromise: Promise<Backend> | undefined;

function loadDefinition(): Record<string, unknown> {
  const def = YAML.parse(readFileSync(SPEC_FILE, 'utf8')) as { paths: Record<string, Record<string, { operationId?: string }>> };
  for (const [p, item] of Object.entries(def.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (typeof op === 'object' && op !== null && !op.operationId) op.operationId = `${method} ${p}`;
    }
  }
  return def as unknown as Record<string, unknown>;
}

export async function openApi(): Promise<Backend> {
  backendPromise ??= (async () => {
    const api = new OpenAPIBackend({
      definition: loadDefinition() as never,
      strict: false,
      validate: true,
      quick: false,
      customizeAjv: (ajv) => {
        addFormats(ajv);
        return ajv;
      },
    });
    await api.init();
    return api;
  })();
  return backendPromise;
}

/** Validate one request/response pair against the spec. */
export async function checkExchange(x: Exchange): Promise<ConformanceResult> {
  const api = await openApi();
  const [pathname, search = ''] = x.path.split('?');
  const query = Object.fromEntries(new URLSearchParams(search));
  const req = { method: x.method.toLowerCase(), path: pathname!, query, headers: x.headers as Record<string, string>, body: x.body };
  const op = api.matchOperation(req);
  if (!op) return { operationId: undefined, requestErrors: [`no operation in the spec for ${x.method} ${pathname}`], responseErrors: [] };
  const reqResult = api.validateRequest(req, op);
  const resResult = api.validateResponse(x.responseBody, op, x.status);
  const declared = Object.keys((op as { responses?: Record<string, unknown> }).responses ?? {});
  const statusErrors = declared.includes(String(x.status)) ? [] : [`status ${x.status} is not declared (declared: ${declared.join(', ')})`];
  return {
    operationId: op.operationId,
    requestErrors: (reqResult.errors ?? []).map((e: { instancePath: string; message?: string }) => `${e.instancePath} ${e.message}`),
    responseErrors: [...statusErrors, ...(resResult.errors ?? []).map((e: { instancePath: string; message?: string }) => `${e.instancePath} ${e.message}`)],
  };
}
