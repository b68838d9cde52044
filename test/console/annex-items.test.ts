/** The console's copy of the Annex IV items (its profile form) stays equal to the server's list. */
import { describe, expect, it } from 'vitest';
import { ANNEX_IV_ITEMS as CONSOLE_ITEMS } from '../../console/src/lib/profile.js';
import { ANNEX_IV_ITEMS as SERVER_ITEMS } from '../../src/modules/eu-ai-act/annex-iv.js';

describe('console system profile form', () => {
  it('lists the same Annex IV items, keys and titles, as the server', () => {
    expect(CONSOLE_ITEMS).toEqual(SERVER_ITEMS);
  });
});
