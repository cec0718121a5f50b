/** The connectivity suite (connectivity-suite.ts) with the API server on sqlite. */
import { connectivitySuite } from './connectivity-suite.js';

connectivitySuite('sqlite');
