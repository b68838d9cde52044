import { describe, expect, it } from 'vitest';
import { PRIMITIVES, type FrameworkDef, type Primitive } from '../compliance.model.js';
import { resolveControls } from '../compliance.status.js';
import { FRAMEWORKS } from './index.js';

const byId = (id: string): FrameworkDef => FRAMEWORKS.find((f) => f.id === id)!;
const ids = (fw: string, opts: { clauses?: boolean } = {}) =>
  byId(fw)
    .controls.filter((c) => (opts.clauses ?? false) === (c.clause === true))
    .map((c) => c.id);

/** ID formats per framework. */
const ID_FORMATS: Record<string, RegExp> = {
  soc2: /^CC[1-9]\.[1-8]$/,
  iso27001: /^A\.[5-8]\.\d{1,2}$/,
  gdpr: /^Art \d{1,2}(\(\d\))?(\([a-z]\))?$/,
  hipaa: /^164\.(308|310|312|314|316)(\((?:[a-z]|\d+|[ivx]+|[A-Z])\))+$/,
  'pci-dss': /^(?:[1-9]|1[0-2])(?:\.\d{1,2}){2,3}$/,
  'nist-csf': /^(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}-\d{2}$/,
  'eu-ai-act': /^(Art \d{1,3}(\(\d{1,2}\))?(\([a-z]\))?|Annex [IVX]+(\.\d)?)$/,
  iso42001: /^A\.\d{1,2}\.\d(\.\d)?$/,
  'nist-ai-rmf': /^(GOVERN|MAP|MEASURE|MANAGE) \d\.\d{1,2}$/,
};

describe('framework registry', () => {
  it('has every framework once, each with name, version and source', () => {
    expect(FRAMEWORKS.map((f) => f.id)).toEqual(Object.keys(ID_FORMATS));
    for (const f of FRAMEWORKS) {
      expect(f.name && f.version && f.source, f.id).toBeTruthy();
      expect(new Set(f.controls.map((c) => c.id)).size, `${f.id}: duplicate ids`).toBe(f.controls.length);
      for (const c of f.controls) expect(c.title.length, `${f.id} ${c.id}`).toBeGreaterThan(3);
    }
  });

  for (const [fw, format] of Object.entries(ID_FORMATS)) {
    it(`${fw}: every control id matches ${format}`, () => {
      for (const id of ids(fw)) expect(id).toMatch(format);
    });
  }

  it('SOC 2: exactly the 33 common criteria CC1.1–CC9.2', () => {
    const expected = [[1, 5], [2, 3], [3, 4], [4, 2], [5, 3], [6, 8], [7, 5], [8, 1], [9, 2]].flatMap(([s, n]) =>
      Array.from({ length: n! }, (_, i) => `CC${s}.${i + 1}`),
    );
    expect(ids('soc2')).toEqual(expected);
    expect(expected).toHaveLength(33);
  });

  it('ISO/IEC 27001: the 93 Annex A controls of 2022, never 2013 numbering; clauses apart', () => {
    const expected = [[5, 37], [6, 8], [7, 14], [8, 34]].flatMap(([t, n]) => Array.from({ length: n! }, (_, i) => `A.${t}.${i + 1}`));
    expect(ids('iso27001')).toEqual(expected);
    expect(expected).toHaveLength(93);
    for (const f of FRAMEWORKS.filter((x) => x.id === 'iso27001')) {
      for (const c of f.controls) {
        expect(c.id).not.toMatch(/^A\.(9|1[0-8])\./); // 2013 themes A.9–A.18 (A.9.2.1, A.12.4.1 …)
        if (!c.clause) expect(c.id).not.toMatch(/^A\.\d+\.\d+\.\d+$/);
      }
    }
    expect(ids('iso27001', { clauses: true })).toEqual(['6.1.2', '7.5', '8.2', '9.1']);
    expect(byId('iso27001').controls.find((c) => c.id === 'A.8.15')!.title).toBe('Logging');
  });

  it('ISO/IEC 42001 lists no more than its 38 Annex A controls and NIST CSF ids stay within 2.0 functions', () => {
    expect(ids('iso42001').length).toBeLessThanOrEqual(38);
    for (const id of ids('nist-csf')) expect(id).not.toMatch(/^(ID\.AM|PR\.AC|PR\.IP|PR\.PT|DE\.AE-0[6-9]|DE\.DP)/); // CSF 1.1 only
  });

  it('every mapped id exists in its framework', () => {
    for (const f of FRAMEWORKS) expect(() => resolveControls(f)).not.toThrow();
  });
});

// ------------------------------------------------------------ COMPLIANCE.md §3, copied verbatim

/** The §3 table: per primitive, the cells of the EU AI Act, SOC 2, ISO 27001:2022, GDPR, HIPAA, PCI DSS and NIST CSF columns. */
const SECTION_3: Record<Primitive, [string, string, string, string, string, string, string]> = {
  policy_decision: ['9(2)(d), 14(3)(a), 12(2)(a)', 'CC5.1–CC5.3, CC6.1, CC6.3', 'A.5.15, A.8.3', '25(1)–(2), 32(1)(b)', '164.312(a)(1), 164.308(a)(4)', '7.2.1, 7.2.2, 7.3.1–7.3.3', 'GV.PO-01, PR.AA-05'],
  audit_ledger: ['12(1), 12(2)(a)–(c), 19(1), 26(5)–(6), 72(2)', 'CC7.2, CC7.3, CC4.1', 'A.8.15, A.8.16, A.8.17, A.5.28', '5(2), 32(1)(d)', '164.312(b), 164.308(a)(1)(ii)(D)', '10.2.1, 10.2.1.1–10.2.1.7, 10.2.2, 10.5.1', 'PR.PS-04, DE.CM-03, DE.CM-09'],
  tamper_evidence: ['supports 12, 21(2), 73(6)', 'CC6.1', 'A.8.15, A.5.28, A.5.33, A.8.24', '5(1)(f), 32(1)(b)', '164.312(c)(1)', '10.3.2, 10.3.3, 10.3.4', 'PR.DS-01, RS.AN-06, RS.AN-07'],
  access_control: ['26(2), 14(5)', 'CC6.1, CC6.2, CC6.3', 'A.5.15, A.5.16, A.5.18, A.8.2, A.8.3, A.5.3', '25(2), 32(1)(b), 32(4)', '164.312(a)(1), 164.308(a)(3)–(4)', '7.2.1–7.2.6, 8.2.1', 'PR.AA-01, PR.AA-05'],
  mfa: ['(15(5))', 'CC6.1, CC6.6', 'A.8.5, A.5.17', '32(1)(b)', '164.312(d)', '8.3.1, 8.4.1–8.4.3, 8.5.1', 'PR.AA-03'],
  human_oversight: ['14(1), 14(3), 14(4)(a)–(e), 14(5), 26(2), 26(5)', 'CC7.3, CC7.4', 'A.5.24, A.5.25, A.5.26', '22(3)', '(164.308(a)(6))', '10.4.3, 12.10.1', 'RS.MA-02, RS.MA-03, RS.MA-04'],
  override: ['14(4)(d)–(e), 12(2)(a)', 'CC6.3, CC4.1', 'A.5.3, A.8.2, A.8.15', '22(3), 5(2)', '164.312(a)(2)(ii)', '7.2.3, 10.2.1.2', 'ID.RA-07, PR.AA-05'],
  capability_token: ['(14(3)(a))', 'CC6.1, CC6.3', 'A.5.15, A.5.17, A.8.3, A.8.5', '25(2), 32(1)(b)', '164.312(a)(1), 164.312(d)', '7.2.2, 7.2.5, 8.6.1', 'PR.AA-04, PR.AA-05'],
  risk_assessment: ['9(2)(a)–(d), 9(5), Annex IV.5', 'CC3.1, CC3.2, CC3.4', 'clauses 6.1.2, 8.2', '35(7)(c), 32(2), 24(1)', '164.308(a)(1)(ii)(A)–(B)', '12.3.1', 'ID.RA-04, ID.RA-05, ID.RA-06'],
  evidence_export: ['11 + Annex IV, 18(1), 21(1)–(2), 72(3)', 'CC2.1, CC4.1, CC4.2', 'clauses 7.5, 9.1; A.5.28, A.5.35, A.5.36', '5(2), 30(4)', '164.316(b)(1)–(2)', '10.5.1', 'GV.OV-03, ID.IM-01'],
};
const COLUMNS = ['eu-ai-act', 'soc2', 'iso27001', 'gdpr', 'hipaa', 'pci-dss', 'nist-csf'] as const;

/** Expand `CC5.1–CC5.3`, `7.3.1–7.3.3`, `14(4)(a)–(e)`, `25(1)–(2)` into their ids. */
function expandRange(item: string): string[] {
  const [from, to] = item.split('–') as [string, string | undefined];
  if (to === undefined) return [from];
  const step = (a: string, b: string, make: (x: string) => string) => {
    const numeric = /^\d+$/.test(a);
    const [lo, hi] = numeric ? [Number(a), Number(b)] : [a.charCodeAt(0), b.charCodeAt(0)];
    return Array.from({ length: hi - lo + 1 }, (_, i) => make(numeric ? String(lo + i) : String.fromCharCode(lo + i)));
  };
  const paren = /^\(([A-Za-z0-9]+)\)$/.exec(to);
  if (paren) {
    const m = /^(.*)\(([A-Za-z0-9]+)\)$/.exec(from)!;
    return step(m[2]!, paren[1]!, (x) => `${m[1]}(${x})`);
  }
  const base = from.slice(0, from.lastIndexOf('.') + 1);
  return step(from.slice(base.length), to.slice(to.lastIndexOf('.') + 1), (x) => `${base}${x}`);
}

/** A §3 cell as the registry spells its ids: `[id, partial]` pairs. */
function parseCell(framework: (typeof COLUMNS)[number], cell: string): Array<[string, boolean]> {
  const supports = cell.startsWith('supports ');
  const items = cell
    .replace(/^supports /, '')
    .split(/[;,] | \+ /)
    .map((s) => s.replace(/^clauses /, ''));
  return items.flatMap((raw) => {
    const partial = supports || /^\(.*\)$/.test(raw);
    const item = partial && !supports ? raw.slice(1, -1) : raw;
    return expandRange(item).map((id): [string, boolean] => [
      (framework === 'eu-ai-act' || framework === 'gdpr') && /^\d/.test(id) ? `Art ${id}` : id,
      partial,
    ]);
  });
}

describe('COMPLIANCE.md §3 mapping', () => {
  for (const [col, framework] of COLUMNS.entries()) {
    it(`${framework}: the registry maps exactly the §3 column`, () => {
      const fw = byId(framework);
      for (const primitive of PRIMITIVES) {
        const expected = parseCell(framework, SECTION_3[primitive][col]!).sort();
        const actual = (fw.mapping[primitive] ?? []).map((r): [string, boolean] => (typeof r === 'string' ? [r, false] : [r.id, true])).sort();
        expect(actual, `${framework} ${primitive}`).toEqual(expected);
      }
    });
  }

  it('range expansion', () => {
    expect(expandRange('CC5.1–CC5.3')).toEqual(['CC5.1', 'CC5.2', 'CC5.3']);
    expect(expandRange('10.2.1.1–10.2.1.7')).toHaveLength(7);
    expect(expandRange('14(4)(a)–(e)')).toEqual(['14(4)(a)', '14(4)(b)', '14(4)(c)', '14(4)(d)', '14(4)(e)']);
    expect(expandRange('164.308(a)(1)(ii)(A)–(B)')).toEqual(['164.308(a)(1)(ii)(A)', '164.308(a)(1)(ii)(B)']);
  });

  it('never: CC7.2 for risk assessment, GDPR Art 33, risk anywhere but CC3.x in SOC 2', () => {
    const soc2 = byId('soc2');
    expect(soc2.mapping.risk_assessment).not.toContain('CC7.2');
    for (const id of soc2.mapping.risk_assessment ?? []) expect(id).toMatch(/^CC3\./);
    const gdpr = byId('gdpr');
    expect(gdpr.controls.some((c) => /^Art 33\b/.test(c.id))).toBe(false);
    for (const refs of Object.values(gdpr.mapping)) for (const r of refs) expect(typeof r === 'string' ? r : r.id).not.toMatch(/^Art 33\b/);
  });

  it('A.8.15 needs the ledger to verify and retention at its floor', () => {
    const a815 = resolveControls(byId('iso27001')).find((c) => c.def.id === 'A.8.15')!;
    expect(a815.evidenceKinds).toEqual(expect.arrayContaining(['ledger_verifies', 'retention_floor']));
  });
});
