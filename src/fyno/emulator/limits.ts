/**
 * Length limits on request fields (README, "Bodies and limits"). The spec documents one limit:
 * string property values "contain a maximum of 255 characters" (`/profiles/properties/set` and
 * siblings); a longer property string is accepted and ignored like any invalid value
 * (api-properties.ts). Everything else below is our choice where the spec is silent: identifiers,
 * names and destinations share Fyno's 255-character string limit, tokens get more room (web push
 * subscriptions and FCM tokens run long), and are refused with 400 rather than stored.
 */
import { fail, type Reply } from './api-common.js';

/** Fyno's documented string length (property values), applied to ids, names, destinations. */
export const MAX_STRING = 255;
/** Push/in-app tokens (not documented). */
export const MAX_TOKEN = 4096;

/** 400 naming the field when `v` is a string longer than `max`; null otherwise. */
export function tooLongField(field: string, v: unknown, max = MAX_STRING): Reply | null {
  return typeof v === 'string' && v.length > max ? fail(400, `Invalid value for '${field}': at most ${max} characters`) : null;
}
