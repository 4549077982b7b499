/**
 * Generates a realistic HubSpot-style contact export for examples/crm-migration (issue #6),
 * deterministic for a given seed, with the messy cases real exports have: a UTF-8 BOM, quoted
 * commas, line breaks and quotes inside notes, phone numbers in many forms (~3% not valid),
 * repeated Record IDs, empty cells, dates in several forms, and booleans written
 * Yes/No/true/false/1/0.
 *
 *   npx tsx scripts/gen-crm-export.ts [--rows 2100] [--seed 42] [--out examples/crm-migration/contacts.csv]
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { seededRandom as rng } from '../src/fyno/emulator/faults.js';

export const HEADER = [
  'Record ID',
  'First Name',
  'Last Name',
  'Email',
  'Phone Number',
  'Mobile Phone Number',
  'Company Name',
  'Country/Region',
  'Time Zone',
  'Lifecycle Stage',
  'Lead Status',
  'Create Date',
  'Date of Birth',
  'Annual Revenue',
  'Number of Employees',
  'Is Customer',
  'Unsubscribed from all email',
  'SMS Opt-In',
  'Tags',
  'Push Token',
  'Notes',
];


const FIRST = ['Priya', 'James', 'Aarav', 'Olivia', 'Liam', 'Ananya', 'Noah', 'Emma', 'Rohan', 'Sophia', 'Mateo', 'Isabella', 'Arjun', 'Mia', 'Lucas', 'Zoë', 'José', 'Chloé', 'Wei', 'Fatima', "O'Brien", 'Diya', 'Ethan', 'Amelia'];
const LAST = ['Sharma', 'Smith', 'Patel', 'Johnson', 'García', 'Williams', 'Iyer', 'Brown', 'Müller', 'Jones', 'Nguyen', 'Kapoor', 'Davis', 'Okafor', 'Rossi', 'Chen', 'Singh', 'Martin', 'Kowalski', 'Reddy'];
const COMPANIES = ['Acme Corp', 'Globex, Inc.', 'Initech', 'Umbrella Holdings, LLC', 'Hooli', 'Stark Industries', 'Wayne Enterprises', 'Tata "Digital" Services', 'Vandelay Industries', 'Pied Piper'];
const STAGES = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist'];
const LEAD_STATUS = ['NEW', 'OPEN', 'IN_PROGRESS', 'OPEN_DEAL', 'UNQUALIFIED', 'ATTEMPTED_TO_CONTACT', 'CONNECTED'];
const TAGS = ['vip', 'beta', 'newsletter', 'webinar-2024', 'churn-risk', 'partner', 'enterprise'];
const US_AREAS = ['212', '415', '646', '312', '617', '206', '512', '303', '404', '702'];
const TZ: Record<string, string[]> = {
  US: ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'],
  IN: ['Asia/Kolkata'],
  GB: ['Europe/London'],
  DE: ['Europe/Berlin'],
};
const BAD_PHONES = ['12345', '555-CALL-NOW', '+1 555 0100', '000000', 'n/a', '+91 12345', '(415) 555-01'];
const NOTES = [
  'Met at the SaaStr booth, asked about pricing',
  'Prefers WhatsApp, not email.\nCall after 6pm IST.',
  'Renewal due Q3; said "we\'ll decide after budget review"',
  'Referred by Priya, see ticket #4412',
  'Multi-line note:\n- wants SSO\n- wants audit log, export',
  'Asked for a "quote", then went quiet',
];

export interface GenOptions {
  rows: number;
  seed: number;
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The export's lines (the first starts with a BOM), one CSV record per item, each ending in CRLF. */
export function* generateContacts(o: GenOptions): Generator<string> {
  const r = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number) => r() < p;
  const digits = (n: number) => Array.from({ length: n }, () => String(Math.floor(r() * 10))).join('');
  const pad = (n: number) => String(n).padStart(2, '0');

  yield `\uFEFF${HEADER.map(csvField).join(',')}\r\n`;
  const ids: number[] = [];
  for (let i = 0; i < o.rows; i++) {
    // ~0.5% of rows repeat an earlier Record ID (a contact exported twice).
    const id = ids.length > 10 && chance(0.005) ? pick(ids) : 51_200_001 + i * 7;
    ids.push(id);
    const first = pick(FIRST);
    const last = chance(0.05) ? '' : pick(LAST);
    const country = pick(['US', 'US', 'US', 'IN', 'IN', 'GB', 'DE']);
    const local = `${first}.${last || 'x'}${i}`.toLowerCase().normalize('NFD').replace(/[^a-z0-9.]/g, '');
    let email = chance(0.08) ? '' : `${local}@${pick(['example.com', 'mail.example.org', 'Example.IO'])}`;
    if (email && chance(0.005)) email = pick([`${local}@`, `${local}.example.com`, `${local}@@example.com`]);
    if (email && chance(0.05)) email = `  ${email} `;

    const phone = (): string => {
      if (chance(0.03)) return pick(BAD_PHONES);
      const sub = `${2 + Math.floor(r() * 8)}${digits(2)}`;
      const line = digits(4);
      switch (country) {
        case 'US': {
          const area = pick(US_AREAS);
          return pick([`(${area}) ${sub}-${line}`, `${area}.${sub}.${line}`, `+1 ${area} ${sub} ${line}`, `${area}${sub}${line}`, `1-${area}-${sub}-${line}`]);
        }
        case 'IN': {
          const n = `9${digits(4)}${digits(5)}`;
          return pick([`+91 ${n.slice(0, 5)} ${n.slice(5)}`, `91${n}`, `+91-${n}`, `0091 ${n}`]);
        }
        case 'GB':
          return pick([`+44 20 7${digits(3)} ${digits(4)}`, `+447507${digits(6)}`, `0044 7400 ${digits(6)}`]);
        default:
          return pick([`+49 30 ${digits(8)}`, `+49 151 ${digits(8)}`]);
      }
    };
    const phoneNumber = chance(0.25) ? '' : phone();
    const mobile = chance(0.4) ? '' : phone();

    const y = 2019 + Math.floor(r() * 6);
    const mo = 1 + Math.floor(r() * 12);
    const d = 1 + Math.floor(r() * 28);
    const hh = Math.floor(r() * 24);
    const mm = Math.floor(r() * 60);
    const ss = Math.floor(r() * 60);
    const created = pick([
      `${y}-${pad(mo)}-${pad(d)} ${pad(hh)}:${pad(mm)}`,
      `${y}-${pad(mo)}-${pad(d)} ${pad(hh)}:${pad(mm)}:${pad(ss)}`,
      `${mo}/${d}/${y}`,
      `${y}-${pad(mo)}-${pad(d)}T${pad(hh)}:${pad(mm)}:${pad(ss)}Z`,
    ]);
    const by = 1960 + Math.floor(r() * 45);
    const dob = chance(0.5) ? '' : chance(0.5) ? `${pad(mo)}/${pad(d)}/${by}` : `${mo}/${d}/${by}`;
    const revenue = chance(0.4) ? '' : pick([String(Math.floor(r() * 5_000_000)), `${Math.floor(r() * 999)},${digits(3)},${digits(3)}`, `${Math.floor(r() * 100000)}.${digits(2)}`]);
    const employees = chance(0.3) ? '' : String(1 + Math.floor(r() * 5000));
    const yes = () => pick(['Yes', 'No', 'true', 'false', '1', '0', 'TRUE', 'yes']);
    const tags = chance(0.4) ? '' : Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(TAGS)).join(';');
    const push = chance(0.3) ? `ExponentPushToken[${Math.floor(r() * 2 ** 32).toString(36)}${digits(6)}]` : '';
    const notes = chance(0.6) ? '' : pick(NOTES);
    const tz = chance(0.3) ? '' : pick(TZ[country]!);

    const rec = [
      String(id),
      first,
      last,
      email,
      phoneNumber,
      mobile,
      chance(0.2) ? '' : pick(COMPANIES),
      country,
      tz,
      pick(STAGES),
      chance(0.3) ? '' : pick(LEAD_STATUS),
      created,
      dob,
      revenue,
      employees,
      yes(),
      chance(0.2) ? '' : pick(['true', 'false', 'false', 'false']),
      chance(0.5) ? '' : yes(),
      tags,
      push,
      notes,
    ];
    yield `${rec.map(csvField).join(',')}\r\n`;
  }
}

/** Writes the export to `file`, streaming (fine for millions of rows). */
export async function writeContacts(file: string, o: GenOptions): Promise<void> {
  const out = createWriteStream(file, { encoding: 'utf8' });
  for (const line of generateContacts(o)) if (!out.write(line)) await once(out, 'drain');
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string, dflt: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] ?? dflt : dflt;
  };
  const rows = Number(arg('--rows', '2100'));
  const seed = Number(arg('--seed', '42'));
  const file = arg('--out', 'examples/crm-migration/contacts.csv');
  await writeContacts(file, { rows, seed });
  process.stderr.write(`wrote ${rows} contacts (seed ${seed}) to ${file}\n`);
}
