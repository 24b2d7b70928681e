import { ServiceError } from '../model/errors.js';
import type { Authenticator } from '../model/entities.js';
import { graphPhoneNumber, parsePhoneNumber } from '../model/phone.js';
import { requireUser, type GraphContext } from './graph-api.js';
import { MfaService, PHONE_TYPES, smsDataOf, type PhoneType } from './mfa.js';

/**
 * Graph's phone authentication methods, `/users/{id}/authentication/phoneMethods`: a user's phones,
 * one of each type. The `mobile` phone is the user's SMS second factor (what security settings enrol);
 * `alternateMobile` and `office` are kept as Graph keeps them (Latchkey texts only the mobile one). Ids
 * are Graph's fixed id of each type, so a back office written for Graph finds them where it expects.
 */

/** Graph's id of each phone type (the same in every tenant). */
export const PHONE_METHOD_IDS: Record<PhoneType, string> = {
  mobile: '3179e48a-750b-4051-897c-87b9720928f7',
  alternateMobile: 'b6332ec1-7057-4abe-9331-3d72feddfe41',
  office: 'e37fc753-ff3b-4958-9484-eaa9425c82bc',
};

const bad = (message: string) => new ServiceError('invalid', message);
const notFound = (id: string) => new ServiceError('not_found', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);

export interface PhoneMethod {
  id: string;
  phoneNumber: string;
  phoneType: PhoneType;
  smsSignInState: string;
}

async function shape(a: Authenticator): Promise<PhoneMethod> {
  const d = smsDataOf(a);
  // Text-message sign-in is Latchkey's phone sign-in (phoneNumber identities), not a phone method's.
  return { id: PHONE_METHOD_IDS[d.phoneType], phoneNumber: await graphPhoneNumber(d.phoneNumber), phoneType: d.phoneType, smsSignInState: 'notSupported' };
}

const phonesOf = async (c: GraphContext, userId: string) => (await c.deps.store.listAuthenticators(c.tenant.id, userId)).filter((a) => a.kind === 'sms');

function typeOfId(methodId: string): PhoneType | undefined {
  return PHONE_TYPES.find((t) => PHONE_METHOD_IDS[t] === methodId.toLowerCase());
}

/** The body of a create or update: `phoneNumber` in international form (`+31 612345678`), `phoneType`. */
async function readBody(input: unknown, requireType: boolean): Promise<{ phoneNumber: string; phoneType?: PhoneType }> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw bad('The request body must be a JSON object.');
  const body = input as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (key !== 'phoneNumber' && key !== 'phoneType' && key !== '@odata.type') throw bad(`Property '${key}' does not exist on type 'microsoft.graph.phoneAuthenticationMethod'.`);
  }
  if (typeof body.phoneNumber !== 'string') throw bad('phoneNumber is required: +{country code} {number}, such as +31 612345678.');
  const typed = body.phoneNumber.trim();
  const parsed = typed.startsWith('+') ? await parsePhoneNumber(typed.replace(/x\d+$/i, '')) : { ok: false as const };
  if (!parsed.ok) throw bad(`Invalid phone number '${body.phoneNumber.slice(0, 40)}': use +{country code} {number}, such as +31 612345678.`);
  if (body.phoneType === undefined && requireType) throw bad(`phoneType is required: ${PHONE_TYPES.join(', ')}.`);
  if (body.phoneType !== undefined && !(PHONE_TYPES as readonly unknown[]).includes(body.phoneType)) throw bad(`Invalid phoneType: ${PHONE_TYPES.join(', ')}.`);
  return { phoneNumber: parsed.e164, ...(body.phoneType !== undefined ? { phoneType: body.phoneType as PhoneType } : {}) };
}

export async function listPhoneMethods(c: GraphContext, userId: string): Promise<PhoneMethod[]> {
  const user = await requireUser(c, userId);
  const order = (a: Authenticator) => PHONE_TYPES.indexOf(smsDataOf(a).phoneType);
  return Promise.all((await phonesOf(c, user.id)).sort((a, b) => order(a) - order(b)).map(shape));
}

export async function getPhoneMethod(c: GraphContext, userId: string, methodId: string): Promise<PhoneMethod> {
  const user = await requireUser(c, userId);
  const type = typeOfId(methodId);
  const phone = type && (await phonesOf(c, user.id)).find((a) => smsDataOf(a).phoneType === type);
  if (!phone) throw notFound(methodId);
  return shape(phone);
}

/** Adds a phone: one of each type, and a mobile phone before an alternate one (Graph's rules). */
export async function createPhoneMethod(c: GraphContext, userId: string, input: unknown): Promise<PhoneMethod> {
  const user = await requireUser(c, userId);
  const body = await readBody(input, true);
  const type = body.phoneType!;
  const phones = await phonesOf(c, user.id);
  if (phones.some((a) => smsDataOf(a).phoneType === type)) throw new ServiceError('conflict', `The user already has a phone of type '${type}'.`);
  if (type === 'alternateMobile' && !phones.some((a) => smsDataOf(a).phoneType === 'mobile')) throw bad('A user must have a mobile phone before an alternateMobile phone is added.');
  return shape(await new MfaService(c.deps).addPhone(c.tenant, user, { phoneNumber: body.phoneNumber, phoneType: type }, { clientId: c.clientId, by: 'graph' }));
}

/** Changes a phone's number (its type stays: Graph's id names the type). */
export async function updatePhoneMethod(c: GraphContext, userId: string, methodId: string, input: unknown): Promise<void> {
  const user = await requireUser(c, userId);
  const type = typeOfId(methodId);
  const phone = type && (await phonesOf(c, user.id)).find((a) => smsDataOf(a).phoneType === type);
  if (!phone || !type) throw notFound(methodId);
  const body = await readBody(input, false);
  if (body.phoneType !== undefined && body.phoneType !== type) throw bad(`The phoneType of a phone method cannot change (this one is '${type}'); delete it and add another.`);
  await c.deps.store.removeAuthenticators(c.tenant.id, user.id, phone.id);
  await new MfaService(c.deps).addPhone(c.tenant, user, { phoneNumber: body.phoneNumber, phoneType: type }, { clientId: c.clientId, by: 'graph' });
}

export async function deletePhoneMethod(c: GraphContext, userId: string, methodId: string): Promise<void> {
  const user = await requireUser(c, userId);
  const type = typeOfId(methodId);
  const phone = type && (await phonesOf(c, user.id)).find((a) => smsDataOf(a).phoneType === type);
  if (!phone) throw notFound(methodId);
  await c.deps.store.removeAuthenticators(c.tenant.id, user.id, phone.id);
  await c.deps.audit.record({ tenantId: c.tenant.id, event: 'mfa_removed', outcome: 'success', subject: user.id, clientId: c.clientId, detail: `phone (${type}) by graph` });
}
