/**
 * Fyno Verify (fyno-notification-events-openapi.yml, `POST /{WSID}/{version}/verify/validate`;
 * split copy: fyno-fyno-verify-api-openapi.yml). OTPs are issued by the admin API (seed `otps`)
 * or by a fired event whose `data.otp` is set (api-events.ts); each can be validated once, by
 * `destination` or by the event's `request_id`.
 */
import { fail, ok, type ApiRequest, type Ctx, type Reply } from './api-common.js';
import type { OtpRecord, Space } from './store.js';

/** Issue an OTP; it replaces an earlier one for the same destination (or request id). */
export function issueOtp(space: Space, rec: OtpRecord): void {
  const replaced = (o: OtpRecord) => (rec.destination !== undefined ? o.destination === rec.destination : o.destination === undefined && o.request_id === rec.request_id);
  space.otps = space.otps.filter((o) => !replaced(o));
  space.otps.push(rec);
}

/**
 * POST /verify/validate?request_id=|destination=&otp= → 200 OTPSuccess | 400 OTPInvalid. The
 * spec's description: "validate the OTP … using either `request_id` … or `destination`"; when
 * both are given `request_id` decides. A success consumes the OTP (every record of that
 * destination or request); a wrong OTP consumes nothing.
 */
export function validateOtp(ctx: Ctx, req: ApiRequest): Reply {
  const { otp, request_id, destination } = req.query;
  if (!otp) return fail(400, 'otp is required!');
  if (!request_id && !destination) return fail(400, 'request_id or destination is required!');
  const matches = (o: OtpRecord) => (request_id ? o.request_id === request_id : o.destination === destination);
  const pending = ctx.space.otps.filter(matches);
  if (pending.length === 0) return fail(400, request_id ? `No OTP was sent for request_id '${request_id}'` : `No OTP was sent to '${destination}'`);
  if (!pending.some((o) => o.otp === otp)) return fail(400, 'user entered the wrong OTP');
  ctx.space.otps = ctx.space.otps.filter((o) => !matches(o));
  ctx.store.touch();
  return ok(200, 'OTP successfully validated.');
}
