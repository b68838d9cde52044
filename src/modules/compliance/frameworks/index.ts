import type { FrameworkDef } from '../compliance.model.js';
import { euAiAct } from './eu-ai-act.js';
import { gdpr } from './gdpr.js';
import { hipaa } from './hipaa.js';
import { iso27001 } from './iso27001.js';
import { iso42001 } from './iso42001.js';
import { nistAiRmf } from './nist-ai-rmf.js';
import { nistCsf } from './nist-csf.js';
import { pciDss } from './pci-dss.js';
import { soc2 } from './soc2.js';

/** Every framework of the registry, in the order the API lists them. */
export const FRAMEWORKS: readonly FrameworkDef[] = [soc2, iso27001, gdpr, hipaa, pciDss, nistCsf, euAiAct, iso42001, nistAiRmf];
